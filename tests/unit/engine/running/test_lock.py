import os
import subprocess
import sys
from pathlib import Path

import pytest

from saltext.scenario.engine.errors import LockHeld
from saltext.scenario.engine.running.lock import ScenarioLock, lock_path


def test_second_holder_is_refused_until_released(tmp_path):
    first = ScenarioLock(str(tmp_path), "update_website").acquire()
    with pytest.raises(LockHeld) as err:
        ScenarioLock(str(tmp_path), "update_website").acquire()
    assert str(os.getpid()) in str(err.value) and err.value.retcode == 4
    # another scenario is independent
    ScenarioLock(str(tmp_path), "other").acquire().release()
    first.release()
    ScenarioLock(str(tmp_path), "update_website").acquire().release()


def test_lock_of_a_dead_process_is_taken_over(tmp_path):
    code = (
        "import sys; sys.path[:0] = " + repr(sys.path) + "\n"
        "from saltext.scenario.engine.running.lock import ScenarioLock\n"
        f"ScenarioLock({str(tmp_path)!r}, 'update_website').acquire()\n"
        "import os; os._exit(0)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
    path = lock_path(str(tmp_path), "update_website")
    assert os.path.exists(path) and Path(path).read_text().strip()  # the dead holder's pid is still written
    lock = ScenarioLock(str(tmp_path), "update_website").acquire()
    assert Path(path).read_text().strip() == str(os.getpid())
    lock.release()


def test_names_with_slashes_stay_in_the_lock_dir(tmp_path):
    path = lock_path(str(tmp_path), "team/web")
    assert os.path.dirname(path) == str(tmp_path / "scenario" / "locks")
