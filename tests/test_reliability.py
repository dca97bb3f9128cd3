"""The Reliability page and the test suite cannot drift apart.

Every row of the fault battery in ``docs/reliability.rst`` names tests;
each must exist and carry the row's number in a ``# battery row N``
comment, and every row from 1 to 58 must be there.
"""

import ast
import functools
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PAGE = ROOT / "docs" / "reliability.rst"
N_ROWS = 58

# "# battery row 41", "# battery rows 7 and 52", "# battery rows 1-2"
MARK = re.compile(r"#\s*battery rows? (\d+)((?:(?:, | and |-)\d+)*)")


def _page_rows():
    """``{row: [(file, test name), ...]}`` from the battery table."""
    table = PAGE.read_text().split(".. list-table::", 1)[1]
    rows = {}
    for block in re.split(r"\n   \* - ", table)[2:]:  # skip the options and the header
        number = int(block.split("\n", 1)[0])
        rows[number] = re.findall(r"``(test_\w+\.py)::(test_\w+)``", block)
    return rows


def _marked_rows(source):
    """Row numbers named in the battery comments of a test file."""
    rows = set()
    for first, rest in MARK.findall(source):
        numbers = [int(first), *map(int, re.findall(r"\d+", rest))]
        if "-" in rest:  # a range
            numbers = list(range(numbers[0], numbers[-1] + 1))
        rows.update(numbers)
    return rows


@functools.cache
def _test_functions(path):
    """``{test name: its source}`` for the test functions of a file."""
    source = path.read_text()
    tree = ast.parse(source)
    return {
        node.name: ast.get_source_segment(source, node)
        for node in tree.body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
    }


def test_the_page_lists_every_row_once():
    assert sorted(_page_rows()) == list(range(1, N_ROWS + 1))


def test_every_row_names_tests_that_exist_and_carry_its_number():
    for row, tests in _page_rows().items():
        assert tests, f"row {row} names no test"
        for file_name, test_name in tests:
            functions = _test_functions(ROOT / "tests" / file_name)
            assert test_name in functions, f"row {row}: {file_name}::{test_name} does not exist"
            assert row in _marked_rows(functions[test_name]), (
                f"row {row}: {file_name}::{test_name} has no '# battery row {row}' comment"
            )


def test_every_battery_comment_is_on_the_page():
    listed = {(f, t) for tests in _page_rows().values() for f, t in tests}
    for path in sorted((ROOT / "tests").glob("test_*.py")):
        if path.name == Path(__file__).name:  # its own examples of the comments
            continue
        for name, source in _test_functions(path).items():
            if _marked_rows(source):
                assert (path.name, name) in listed, f"{path.name}::{name} is not on the page"


def test_the_comment_parser_reads_every_form():
    assert _marked_rows("# battery row 41") == {41}
    assert _marked_rows("# battery rows 7 and 52: ...") == {7, 52}
    assert _marked_rows("# battery rows 1-3") == {1, 2, 3}
