"""fastnn in a real process: imported before or after numpy, SciPy and scikit-learn, and
used in children made by fork() (GNU OpenMP's threads do not survive fork(); fastnn's
children run on one thread instead of hanging) and by spawn."""

import os
import subprocess
import sys
import textwrap

import pytest

import fastnn

PARENT = os.path.dirname(os.path.dirname(os.path.abspath(fastnn.__file__)))
WORK = textwrap.dedent("""
    import numpy as np
    import fastnn
    from fastnn import Dense, Sequential

    def work(_=None):
        X = np.random.default_rng(0).random((3000, 64), dtype=np.float32)
        y = (X[:, 0] > 0.5).astype(np.int64)
        m = Sequential([Dense(256, activation="relu"), Dense(2)], seed=0)
        m.fit(X, y, epochs=2, batch_size=512, verbose=0)
        a = np.random.default_rng(1).random((600, 600), dtype=np.float32)
        return round(float(fastnn.ops.gemm(a, a).sum()), 0), \\
            round(float(m.predict(X[:10]).sum()), 3)
""")


def _python(code, tmp_path, timeout=120):
    (tmp_path / "work.py").write_text(WORK)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(tmp_path), PARENT,
                                                       os.environ.get("PYTHONPATH", "")]))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=tmp_path,
                          env=env, capture_output=True, text=True, timeout=timeout)


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_children_after_the_parent_used_threads(tmp_path, method):
    if method != "spawn" and sys.platform == "win32":
        pytest.skip("no fork on Windows")
    r = _python(f"""
        import multiprocessing as mp
        import fastnn
        from work import work
        if __name__ == "__main__":
            fastnn.set_num_threads(2)
            parent = work()                    # OpenMP and BLAS threads are running now
            with mp.get_context("{method}").Pool(2) as pool:
                children = pool.map(work, range(2))
            assert children == [parent, parent], (parent, children)
            print("ok")
    """, tmp_path)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr


def test_forked_child_stays_on_one_thread(tmp_path):
    r = _python("""
        import os, warnings
        import fastnn
        from work import work
        fastnn.set_num_threads(2)
        work()
        pid = os.fork()
        if pid == 0:
            with warnings.catch_warnings(record=True) as w:
                warnings.simplefilter("always")
                fastnn.set_num_threads(2)
            if fastnn._runtime.openmp_version():  # clamped, with a warning
                ok = fastnn.get_num_threads() == 1 and any("forked" in str(x.message) for x in w)
            else:  # a serial build has no OpenMP threads to lose: nothing to clamp
                ok = fastnn._runtime._get_native_threads() == 1
            work()
            os._exit(0 if ok else 3)
        _, status = os.waitpid(pid, 0)
        print(os.waitstatus_to_exitcode(status))
    """, tmp_path)
    assert r.returncode == 0 and r.stdout.strip() == "0", r.stderr


@pytest.mark.parametrize("order", ["before", "after"])
def test_import_order_with_numpy_scipy_and_scikit_learn(tmp_path, order):
    pytest.importorskip("sklearn")
    others = "import numpy, scipy.linalg, sklearn.neural_network, sklearn.linear_model"
    code = f"""
        {others if order == "before" else "import fastnn"}
        {"import fastnn" if order == "before" else others}
        import numpy as np
        from work import work
        a = work()
        clf = sklearn.linear_model.LogisticRegression(max_iter=200).fit(
            np.random.default_rng(0).random((100, 3)), np.arange(100) % 2)
        b = scipy.linalg.inv(np.eye(3) * 2.0)
        assert work() == a and b[0, 0] == 0.5
        print("ok")
    """
    r = _python(code, tmp_path)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr
