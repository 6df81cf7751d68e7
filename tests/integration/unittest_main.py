"""How each integration test file runs: parse_binary_arg() takes the
binary CMake passes (missing_binary() says why it cannot run), run_main()
runs the module's tests and prints "N passed, N failed[, N skipped]" as
the last line, exiting 0, 1, or 77 when every test was skipped (ctest
SKIP_RETURN_CODE). Python 3 standard library only.
"""

import os
import sys
import unittest


class _CountingResult(unittest.TextTestResult):
    pass


def parse_binary_arg(flag, env_var):
    """Takes `flag PATH` out of sys.argv (CMake passes the built binary);
    else $env_var; returns the path or None."""
    path = os.environ.get(env_var)
    if flag in sys.argv:
        i = sys.argv.index(flag)
        path = sys.argv[i + 1] if i + 1 < len(sys.argv) else None
        del sys.argv[i:i + 2]
    return path


def missing_binary(path, name, env_var):
    """Why the binary |name| at |path| (from parse_binary_arg) cannot run, as
    a skip reason; None when it can."""
    if path and os.access(path, os.X_OK):
        return None
    return "%s binary not found (pass --binary PATH or set %s)" % (name, env_var)


def run_main(module_name="__main__"):
    """unittest main with the summary line; exit 0 all good, 1 any failure,
    77 when everything was skipped."""
    verbosity = 2
    argv = sys.argv[1:]
    suite = (unittest.defaultTestLoader.loadTestsFromNames(argv, sys.modules[module_name])
             if argv else unittest.defaultTestLoader.loadTestsFromModule(sys.modules[module_name]))
    runner = unittest.TextTestRunner(verbosity=verbosity, resultclass=_CountingResult,
                                     stream=sys.stdout)
    result = runner.run(suite)
    skipped = len(result.skipped)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    passed = max(0, result.testsRun - skipped - failed - len(result.expectedFailures))
    line = "%d passed, %d failed" % (passed, failed)
    if skipped:
        line += ", %d skipped" % skipped
    sys.stdout.flush()
    print(line, flush=True)
    if failed:
        sys.exit(1)
    if result.testsRun and skipped == result.testsRun:
        sys.exit(77)
    sys.exit(0)
