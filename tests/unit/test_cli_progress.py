"""Long CLI work (migrate, reconcile) shows progress on a terminal's stderr, and only there."""
from __future__ import annotations

import io

from entrypoints import cli


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_rewrites_one_terminal_line_and_is_silent_in_a_pipe():
    assert cli._progress(lambda n: f"step {n}", io.StringIO()) is None
    stream = Tty()
    show = cli._progress(lambda done, total: f"migrate: {done}/{total}", stream)
    show(1, 3)
    show(2, 3)
    cli._progress_done(stream)
    assert stream.getvalue() == "\r\x1b[2Kmigrate: 1/3\r\x1b[2Kmigrate: 2/3\r\x1b[2K"
    piped = io.StringIO()
    cli._progress_done(piped)
    assert piped.getvalue() == ""
