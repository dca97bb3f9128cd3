"""The Python example in README.md runs and does what it says."""

import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_python_example_runs(capsys):
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
    assert blocks, "README.md has no Python example"
    exec(compile(blocks[0], "README.md", "exec"), {})
    score = float(capsys.readouterr().out.strip().splitlines()[-1])
    assert score > 0.95
