"""hierwbc.notebooks.run_notebook runs quietly: no kernel transport warning, no "KeyboardInterrupt
caught" from the kernel shutdown, no papermill / nbclient log lines; run_all prints one line per
notebook with its time."""

import asyncio
import logging
import re

import nbformat
import pytest

from hierwbc.notebooks import quiet_kernel_manager, quiet_notebook_run, run_all, run_notebook

NOISE = re.compile(r"without encryption|KeyboardInterrupt|IPKernelApp|WARNING|Traceback|papermill|nbclient",
                   re.IGNORECASE)


def _tiny(folder, name="01_tiny.ipynb"):
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell("x = 1")
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell("import matplotlib.pyplot as plt\nplt.plot([x, 2])\nprint(x + 1)")]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, folder / name)
    return folder / name


def test_run_notebook_is_quiet(tmp_path, capfd, caplog):
    caplog.set_level(logging.DEBUG)  # even with everything captured, the machinery logs nothing
    out = run_notebook(_tiny(tmp_path / "nb"), tmp_path / "out", {"x": 5, "unused": 0})
    printed = capfd.readouterr()
    assert not NOISE.search(printed.out + printed.err), printed
    assert not [r for r in caplog.records if r.name.split(".")[0] in ("papermill", "nbclient", "jupyter_client",
                                                                        "traitlets")]
    executed = nbformat.read(out, as_version=4)
    assert executed.cells[-1].outputs[0]["text"] == "6\n"  # the parameter arrived
    assert (tmp_path / "out" / "01_tiny.html").exists()
    assert logging.getLogger("papermill").level == logging.NOTSET  # restored after the run


def test_run_all_prints_one_line_per_notebook(tmp_path, capfd):
    folder = tmp_path / "nb"
    _tiny(folder, "01_a.ipynb")
    _tiny(folder, "02_b.ipynb")
    assert run_all(tmp_path / "run", parameters={"x": 2}, folder=folder) == 0
    printed = capfd.readouterr()
    lines = printed.out.splitlines()
    assert re.fullmatch(r"  01_a +\d+ s", lines[1]) and re.fullmatch(r"  02_b +\d+ s", lines[2]), lines
    assert not NOISE.search(printed.out + printed.err), printed


def test_kernel_shutdown_sends_no_interrupt():
    km = quiet_kernel_manager()(kernel_name="python3")
    assert km.transport == "ipc"
    km.shutting_down = True
    asyncio.run(km.interrupt_kernel())  # a no-op: without a kernel an interrupt would raise
    km.shutting_down = False
    with pytest.raises(RuntimeError, match="No kernel is running"):
        asyncio.run(km.interrupt_kernel())


def test_quiet_notebook_run_is_scoped(recwarn):
    log = logging.getLogger("nbclient")
    with quiet_notebook_run():
        assert log.getEffectiveLevel() >= logging.ERROR
        import warnings

        warnings.warn_explicit("noise", UserWarning, "x.py", 1, module="jupyter_client.manager")
    assert log.level == logging.NOTSET and not recwarn.list


def test_each_kernel_gets_its_own_ipc_sockets(tmp_path, monkeypatch):
    import os

    from hierwbc.notebooks import quiet_kernel_manager

    monkeypatch.chdir(tmp_path)
    manager = quiet_kernel_manager()
    a, b = manager(kernel_name="python3"), manager(kernel_name="python3")
    if a.transport != "ipc":
        return  # TCP on this platform: ports are drawn per kernel
    assert a.ip != b.ip and os.path.isabs(a.ip) and os.path.isabs(b.ip)
    assert os.path.dirname(a.ip) != str(tmp_path)  # not the shared working folder
