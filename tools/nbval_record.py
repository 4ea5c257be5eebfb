"""Keep what nbval executes, so that each notebook runs once per `make test`.

nbval runs every code cell of a notebook in one kernel and fails a cell that raises, but
it throws the cell's outputs away. With ``--nbval-record DIR`` this plugin replays the
kernel messages nbval read for each cell through nbclient's own message handler (the one
Jupyter Book executes notebooks with), so that outputs, display updates,
``clear_output`` and widget state are recorded exactly as a Jupyter Book execution would
record them. A notebook whose every code cell passed is written to ``DIR/<name>.ipynb``;
a notebook with a failed or skipped cell is not written, and the book build then
executes it itself. ``tools/cache_executed.py`` adds the written notebooks to Jupyter
Book's execution cache.

Load it with ``-p nbval_record`` and ``tools/`` on ``PYTHONPATH`` (the Makefile does
both).
"""

from __future__ import annotations

import pathlib
import time

import nbformat
import pytest

_STATE = "_nbval_record_state"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("nbval").addoption(
        "--nbval-record",
        metavar="DIR",
        default=None,
        help="write each notebook that passed, with its outputs, to DIR",
    )


class _Recorder:
    """The executed copy of one notebook, kept by an nbclient client with no kernel."""

    def __init__(self, nb: nbformat.NotebookNode) -> None:
        from nbclient import NotebookClient

        self.client = NotebookClient(nb, record_timing=False, store_widget_state=True)
        self.client.reset_execution_trackers()
        self.code_cells = sum(cell.cell_type == "code" for cell in nb.cells)
        self.recorded = 0
        self.failed = False
        self.start = time.perf_counter()


def pytest_configure(config: pytest.Config) -> None:
    out = config.getoption("nbval_record")
    if not out:
        return
    from nbclient.exceptions import CellExecutionComplete
    from nbval import plugin as nbval

    out_dir = pathlib.Path(out)
    out_dir.mkdir(parents=True, exist_ok=True)
    cell_runtest = nbval.IPyNbCell.runtest
    file_teardown = nbval.IPyNbFile.teardown

    def runtest(item) -> None:
        notebook = item.parent
        recorder = getattr(notebook, _STATE, None)
        if recorder is None:
            recorder = _Recorder(notebook.nb)
            setattr(notebook, _STATE, recorder)
        kernel = notebook.kernel
        messages: list[dict] = []
        msg_ids: list[str] = []
        read_message = notebook.get_kernel_message
        execute = kernel.execute_cell_input

        def get_kernel_message(timeout=None, stream="iopub"):
            message = read_message(timeout=timeout, stream=stream)
            messages.append(message)
            return message

        def execute_cell_input(source, allow_stdin=None):
            msg_id = execute(source, allow_stdin=allow_stdin)
            msg_ids.append(msg_id)
            return msg_id

        notebook.get_kernel_message = get_kernel_message
        kernel.execute_cell_input = execute_cell_input
        try:
            cell_runtest(item)
        except BaseException:  # a failed, skipped or interrupted cell: keep no copy
            recorder.failed = True
            raise
        finally:
            del notebook.get_kernel_message
            del kernel.execute_cell_input

        cell = item.cell
        index = notebook.nb.cells.index(cell)
        cell.outputs = []
        recorder.client.clear_before_next_output = False  # as nbclient starts each cell
        for message in messages:
            if message["parent_header"].get("msg_id") != msg_ids[0]:
                continue
            try:
                recorder.client.process_message(message, cell, index)
            except CellExecutionComplete:
                break
        recorder.recorded += 1

    def teardown(notebook) -> None:
        file_teardown(notebook)
        recorder = getattr(notebook, _STATE, None)
        if recorder is None or recorder.failed:
            return
        if recorder.recorded != recorder.code_cells:
            return  # run with -k or stopped early: an incomplete copy is no copy
        recorder.client.set_widgets_metadata()
        nb = recorder.client.nb
        nb.metadata["statlearn_execution_seconds"] = (
            time.perf_counter() - recorder.start
        )
        target = out_dir / pathlib.Path(str(notebook.fspath)).name
        nbformat.write(nb, target)

    nbval.IPyNbCell.runtest = runtest
    nbval.IPyNbFile.teardown = teardown
