"""Kill a child Python process at a chosen moment of a write (the atomic-write tests)."""

import subprocess
import sys
import time


def run_killed(script: str, args, cwd, when, env=None) -> bool:
    """Run `python -c script *args`, which prints "ready" once started and marker lines as
    it goes; SIGKILL it when it prints the marker `when` (a string) or `when` seconds after
    "ready". Returns whether it finished first."""
    proc = subprocess.Popen([sys.executable, "-c", script, *map(str, args)], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        if isinstance(when, str):
            for line in proc.stdout:
                if line.strip() == when:
                    break
        else:
            time.sleep(when)
        proc.kill()
        proc.wait(timeout=30)
        return proc.returncode == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
