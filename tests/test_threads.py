"""statlearn._threads: the thread cap for blocks of small kernels."""

from __future__ import annotations

import pytest
import torch

from statlearn._threads import limit_threads


@pytest.fixture
def two_threads():
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(before)


def test_limit_threads_caps_and_restores(two_threads):
    with limit_threads(1):
        assert torch.get_num_threads() == 1
    assert torch.get_num_threads() == 2


def test_limit_threads_restores_after_an_error(two_threads):
    with pytest.raises(RuntimeError):
        with limit_threads(1):
            raise RuntimeError("inside")
    assert torch.get_num_threads() == 2


def test_limit_threads_never_raises_the_callers_setting(two_threads):
    with limit_threads(8):
        assert torch.get_num_threads() == 2
    torch.set_num_threads(1)
    with limit_threads(2):
        assert torch.get_num_threads() == 1


def test_limit_threads_leaves_other_devices_alone(two_threads):
    with limit_threads(1, torch.device("meta")):
        assert torch.get_num_threads() == 2


def test_limit_threads_rejects_zero():
    with pytest.raises(ValueError, match="n must be >= 1"):
        with limit_threads(0):
            pass


def test_hmm_fit_and_score_leave_the_thread_setting(two_threads):
    from statlearn.latent import GaussianHMM

    X = torch.randn(300, 2)
    model = GaussianHMM(2, n_iter=3, tol=-1.0, random_state=0).fit(X, [100, 100, 100])
    assert torch.get_num_threads() == 2
    model.score(X)
    assert torch.get_num_threads() == 2
