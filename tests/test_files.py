"""Writing files: what may be replaced, through which links, and all at once."""

import os
import re
import stat
import sys
from pathlib import Path

import pytest

from hdrnn._utils.files import Link, atomic_write, check_writable_target, link_refusal, resolve

# A user who is neither this process nor root, to own planted links and files.
STRANGER = 12345

posix_only = pytest.mark.skipif(sys.platform == "win32", reason="POSIX owners and modes")
needs_root = pytest.mark.skipif(
    sys.platform == "win32" or os.geteuid() != 0,
    reason="planting another user's link or file needs root (os.lchown)",
)


def _write(path, content):
    with atomic_write(path) as file:
        file.write(content)


def _plant(link, target, owner=STRANGER):
    """A symbolic link at ``link`` to ``target``, owned by ``owner``."""
    link.symlink_to(target)
    os.lchown(link, owner, owner)
    return link


def _sticky_shared_folder(tmp_path):
    """A folder like /tmp: sticky, world-writable, owned by this process."""
    folder = tmp_path / "shared"
    folder.mkdir()
    folder.chmod(0o1777)
    return folder


# ------------------------------------------------------------------ the rule, on values


def test_a_link_in_a_sticky_shared_folder_is_followed_only_if_its_owner_may_be_trusted():
    # The kernel's protected_symlinks: the writer's own link, or the folder owner's.
    tmp = stat.S_IFDIR | 0o1777
    planted = Link(Path("/tmp/m.hdrnn"), owner=1000, folder_mode=tmp, folder_owner=0)
    assert "protected_symlinks" in link_refusal(planted, target_owner=0, writer=0)
    assert link_refusal(planted, target_owner=1000, writer=1000) is None  # the user's own
    by_folder_owner = planted._replace(owner=0)
    assert link_refusal(by_folder_owner, target_owner=0, writer=1000) is None
    not_sticky = planted._replace(folder_mode=stat.S_IFDIR | 0o777)
    assert link_refusal(not_sticky, target_owner=1000, writer=0) is None


def test_another_users_link_may_only_lead_to_that_users_files():
    home = stat.S_IFDIR | 0o755
    link = Link(Path("/home/alice/m.hdrnn"), owner=1000, folder_mode=home, folder_owner=1000)
    assert "may only lead to that user's files" in link_refusal(link, target_owner=0, writer=0)
    assert link_refusal(link, target_owner=1000, writer=0) is None
    assert link_refusal(link, target_owner=0, writer=1000) is None  # alice's own link
    by_root = link._replace(owner=0)  # links the administrator made are trusted
    assert link_refusal(by_root, target_owner=1000, writer=1000) is None


# ------------------------------------------------------------------ resolving a path


def test_resolving_a_path_agrees_with_realpath(tmp_path):
    (tmp_path / "real" / "sub").mkdir(parents=True)
    (tmp_path / "real" / "sub" / "m.hdrnn").write_bytes(b"x")
    (tmp_path / "dir-link").symlink_to(tmp_path / "real" / "sub")
    (tmp_path / "real" / "up").symlink_to("sub/../sub/m.hdrnn")  # relative, with ..
    (tmp_path / "chain").symlink_to("real/up")
    (tmp_path / "dangling").symlink_to(tmp_path / "real" / "new.hdrnn")
    paths = [
        tmp_path / "dir-link" / "m.hdrnn",
        tmp_path / "dir-link" / ".." / "up",  # .. after a link: the link's real parent
        tmp_path / "chain",
        tmp_path / "dangling",
        tmp_path / "missing" / "m.hdrnn",
    ]
    for path in paths:
        real, _ = resolve(path)
        assert str(real) == os.path.realpath(path), path
    _, links = resolve(tmp_path / "chain")
    assert [link.path.name for link in links] == ["chain", "up"]


def test_a_loop_of_links_is_a_clear_error(tmp_path):
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    with pytest.raises(OSError, match="too many symbolic links"):
        check_writable_target(tmp_path / "a")


# ------------------------------------------------------------------ planted links, as root


@needs_root
def test_a_link_planted_in_a_sticky_shared_folder_is_not_followed(tmp_path):
    # The attack of issue 24: root saves to /tmp/m.hdrnn, where another user put a
    # link to a system file. The kernel (protected_symlinks) would refuse to
    # follow it; hdrnn resolves the path itself, so it must refuse it too.
    system_file = tmp_path / "passwd"
    system_file.write_bytes(b"root:x:0:0")
    link = _plant(_sticky_shared_folder(tmp_path) / "m.hdrnn", system_file)
    with pytest.raises(PermissionError, match=r"another user \(uid 12345\).*protected_symlinks"):
        _write(link, b"a model")
    assert system_file.read_bytes() == b"root:x:0:0"
    assert link.is_symlink()
    assert not list(tmp_path.glob("**/.*.tmp"))


@needs_root
def test_a_planted_link_to_a_folder_is_refused_on_the_way(tmp_path):
    system = tmp_path / "etc"
    system.mkdir()
    folder_link = _plant(_sticky_shared_folder(tmp_path) / "models", system)
    with pytest.raises(PermissionError, match=re.escape(f"through {folder_link}")):
        _write(folder_link / "m.hdrnn", b"a model")
    assert list(system.iterdir()) == []


@needs_root
def test_another_users_link_to_a_root_file_is_not_followed_anywhere(tmp_path):
    # Not in a sticky folder (say root works in alice's project folder): the
    # kernel would follow it, and root would replace its own system file.
    system_file = tmp_path / "shadow"
    system_file.write_bytes(b"secret")
    project = tmp_path / "project"
    project.mkdir()
    link = _plant(project / "m.hdrnn", system_file)
    with pytest.raises(PermissionError, match="may only lead to that user's files"):
        check_writable_target(link)
    # ... and to a file that would be created in root's folder
    new_file_link = _plant(project / "new.hdrnn", tmp_path / "cron-job")
    with pytest.raises(PermissionError, match="may only lead to that user's files"):
        _write(new_file_link, b"* * * * * evil")
    assert system_file.read_bytes() == b"secret" and not (tmp_path / "cron-job").exists()


@needs_root
def test_links_that_may_be_trusted_are_still_followed(tmp_path):
    shared = _sticky_shared_folder(tmp_path)
    mine = shared / "mine.hdrnn"
    mine.symlink_to(tmp_path / "real.hdrnn")  # root's own link, in a sticky folder
    _write(mine, b"one")
    assert (tmp_path / "real.hdrnn").read_bytes() == b"one" and mine.is_symlink()
    theirs = tmp_path / "alice.hdrnn"
    theirs.write_bytes(b"alice's model")
    os.chown(theirs, STRANGER, STRANGER)
    link = _plant(tmp_path / "link.hdrnn", theirs)  # alice's link to alice's file
    _write(link, b"two")
    assert theirs.read_bytes() == b"two" and link.is_symlink()


@needs_root
def test_a_replaced_file_of_another_user_does_not_give_its_mode(tmp_path):
    # A world-writable file planted by someone else must not make the new one world-writable.
    planted = tmp_path / "m.hdrnn"
    planted.write_bytes(b"planted")
    os.chown(planted, STRANGER, STRANGER)
    planted.chmod(0o666)
    umask = os.umask(0o022)
    os.umask(umask)
    _write(planted, b"a model")
    assert stat.S_IMODE(planted.stat().st_mode) == 0o666 & ~umask
    assert planted.stat().st_uid == os.geteuid()


# ------------------------------------------------------------------ the writer's own files


@posix_only
def test_the_writers_own_file_keeps_its_mode(tmp_path):
    path = tmp_path / "m.hdrnn"
    path.write_bytes(b"old")
    path.chmod(0o600)
    _write(path, b"new")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and path.read_bytes() == b"new"


@pytest.mark.parametrize("name", ["same path", "symbolic link", "hard link", "via a folder link"])
def test_an_input_file_is_never_the_output(tmp_path, name):
    model = tmp_path / "m.hdrnn"
    model.write_bytes(b"the model")
    (tmp_path / "folder-link").symlink_to(tmp_path)
    output = {
        "same path": model,
        "symbolic link": tmp_path / "link.hdrnn",
        "hard link": tmp_path / "hard.hdrnn",
        "via a folder link": tmp_path / "folder-link" / "m.hdrnn",
    }[name]
    if name == "symbolic link":
        output.symlink_to(model)
    elif name == "hard link":
        os.link(model, output)
    with pytest.raises(ValueError, match=re.escape(f"it is the input file {model} itself")):
        check_writable_target(output, inputs=[model])
    with (
        pytest.raises(ValueError, match="Choose another path"),
        atomic_write(output, inputs=[model]),
    ):
        pass
    assert model.read_bytes() == b"the model"


def test_other_outputs_and_missing_inputs_are_fine(tmp_path):
    model = tmp_path / "m.hdrnn"
    model.write_bytes(b"the model")
    output = tmp_path / "m.onnx"
    output.write_bytes(b"an old graph")
    assert check_writable_target(output, inputs=[model, tmp_path / "missing"]) == output


@posix_only
def test_a_folder_renamed_while_writing_cannot_redirect_the_file(tmp_path):
    # The folder is held open from the check to the rename: the file lands in the
    # folder that was checked, wherever it has moved, not in a new one put in its place.
    folder = tmp_path / "models"
    folder.mkdir()
    with atomic_write(folder / "m.hdrnn") as file:
        file.write(b"a model")
        folder.rename(tmp_path / "moved")
        folder.mkdir()  # what a rival would put there
    assert (tmp_path / "moved" / "m.hdrnn").read_bytes() == b"a model"
    assert list(folder.iterdir()) == []
