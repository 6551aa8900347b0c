"""DINO cls-token loss: Sinkhorn-Knopp, EMA centring, cross-view pairing; one and two processes."""
import math
import subprocess
import sys
import textwrap

import pytest
import torch

from hierwbc.losses.dino import (
    DINOLoss,
    batch_center,
    dino_global_crops_loss,
    sinkhorn_knopp,
    soft_cross_entropy,
    softmax_center,
)


def reference_sinkhorn(logits, temp, n_iterations=3):
    """dinov2's sinkhorn_knopp_teacher, one process, float64, written out step by step."""
    q = torch.exp(logits.double() / temp).t()
    k, b = q.shape
    q /= q.sum()
    for _ in range(n_iterations):
        q /= q.sum(dim=1, keepdim=True)
        q /= k
        q /= q.sum(dim=0, keepdim=True)
        q /= b
    q *= b
    return q.t()


def test_sinkhorn_matches_dinov2_reference():
    torch.manual_seed(0)
    logits = torch.rand(12, 7) * 2 - 1  # cosine logits of a DINO head
    for temp in (0.04, 0.07):
        torch.testing.assert_close(sinkhorn_knopp(logits, temp).double(),
                                   reference_sinkhorn(logits, temp), atol=1e-6, rtol=1e-5)


def test_sinkhorn_marginals():
    torch.manual_seed(0)
    logits = torch.randn(40, 10)
    q = sinkhorn_knopp(logits, 0.5, n_iterations=3)
    torch.testing.assert_close(q.sum(dim=1), torch.ones(40))  # every sample: a distribution
    q = sinkhorn_knopp(logits, 0.5, n_iterations=200)
    torch.testing.assert_close(q.sum(dim=0), torch.full((10,), 40 / 10), atol=1e-3, rtol=1e-3)


def test_sinkhorn_survives_huge_logits_and_bf16():
    logits = torch.tensor([[500.0, 0.0], [0.0, 500.0]])
    q = sinkhorn_knopp(logits, 0.04)  # exp(12500) overflows without the max shift
    assert torch.isfinite(q).all()
    torch.testing.assert_close(q, torch.eye(2), atol=1e-4, rtol=0)
    assert sinkhorn_knopp(logits.bfloat16(), 1.0).dtype == torch.float32


def test_sinkhorn_underflowing_prototype_stays_zero_not_nan():
    logits = torch.tensor([[0.0, -1000.0, 1.0], [1.0, -1000.0, 0.0]])
    q = sinkhorn_knopp(logits, 0.1)
    assert torch.isfinite(q).all() and (q[:, 1] == 0).all()
    torch.testing.assert_close(q.sum(dim=1), torch.ones(2))


def test_softmax_center_hand_example():
    probs = softmax_center(torch.tensor([[1.0, 0.0]]), torch.tensor([[0.5, 0.5]]), 0.5)
    e = math.exp(1.0)  # (1 - .5) / .5 = 1 and (0 - .5) / .5 = -1
    torch.testing.assert_close(probs, torch.tensor([[e / (e + 1 / e), (1 / e) / (e + 1 / e)]]))


def test_center_ema_hand_example():
    loss = DINOLoss(out_dim=2, center_momentum=0.9)
    loss.update_center(torch.tensor([[1.0, 3.0], [3.0, 5.0]]))  # mean [2, 4]
    torch.testing.assert_close(loss.center, torch.tensor([[0.2, 0.4]]))
    loss.update_center(torch.tensor([[2.0, 4.0]]))
    torch.testing.assert_close(loss.center, torch.tensor([[0.38, 0.76]]))


def test_teacher_probs_use_the_old_centre_then_update():
    loss = DINOLoss(out_dim=3)
    loss.center.fill_(0.3)
    logits = torch.randn(4, 3)
    probs = loss.teacher_probs(logits, 0.1, centering="centering")
    torch.testing.assert_close(probs, torch.softmax((logits - 0.3) / 0.1, dim=-1))
    torch.testing.assert_close(loss.center, 0.9 * torch.full((1, 3), 0.3) + 0.1 * logits.mean(0))
    with pytest.raises(ValueError, match="centering"):
        loss.teacher_probs(logits, 0.1, centering="nope")


def test_cross_view_pairing_against_per_sample_loop():
    torch.manual_seed(0)
    b, k, t_s = 3, 5, 0.1
    student = torch.randn(2 * b, k)
    teacher = torch.softmax(torch.randn(2 * b, k), dim=-1)
    total = 0.0
    for i in range(b):  # student crop 1 vs teacher crop 2 and vice versa
        for s_row, t_row in ((i, b + i), (b + i, i)):
            log_p = torch.log_softmax(student[s_row] / t_s, dim=-1)
            total += -(teacher[t_row] * log_p).sum()
    expected = total / (2 * b)
    torch.testing.assert_close(dino_global_crops_loss(student, teacher, t_s), expected)
    torch.testing.assert_close(DINOLoss(k)(student, teacher), expected)
    same_view = soft_cross_entropy(student, teacher, t_s).mean()
    assert not torch.allclose(same_view, expected)  # the pairing matters in this example


def test_loss_is_minimal_when_student_matches_teacher_and_grads_only_to_student():
    teacher = torch.softmax(torch.randn(4, 6) / 0.1, dim=-1)
    aligned = torch.log(torch.cat(teacher.chunk(2)[::-1])) * 0.1  # student = swapped teacher
    student = aligned.clone().requires_grad_(True)
    value = dino_global_crops_loss(student, teacher)
    entropy = -(teacher * teacher.log()).sum(-1).mean()
    torch.testing.assert_close(value, entropy)
    value.backward()
    assert student.grad.abs().max() < 1e-5  # a minimum
    with pytest.raises(ValueError):
        dino_global_crops_loss(torch.randn(3, 6), torch.randn(3, 6))


def test_batch_center_one_process():
    logits = torch.randn(5, 4)
    torch.testing.assert_close(batch_center(logits), logits.mean(0, keepdim=True))


WORKER = textwrap.dedent("""
    import sys, torch, torch.distributed as dist
    from hierwbc.losses.dino import DINOLoss, sinkhorn_knopp
    rank, world, init, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=world)
    logits = torch.rand(12, 7, generator=torch.Generator().manual_seed(0)) * 2 - 1
    mine = logits[rank::world]
    loss = DINOLoss(7)
    loss.update_center(mine)
    torch.save({"q": sinkhorn_knopp(mine, 0.07), "center": loss.center}, f"{out}/rank{rank}.pt")
    dist.destroy_process_group()
""")


def test_two_processes_equal_one_process_on_the_whole_batch(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    init = f"file://{tmp_path}/rendezvous"
    procs = [subprocess.Popen([sys.executable, str(script), str(r), "2", init, str(tmp_path)])
             for r in range(2)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    logits = torch.rand(12, 7, generator=torch.Generator().manual_seed(0)) * 2 - 1
    full_q = sinkhorn_knopp(logits, 0.07)
    single = DINOLoss(7)
    single.update_center(logits)
    for rank in range(2):
        result = torch.load(tmp_path / f"rank{rank}.pt", weights_only=True)
        torch.testing.assert_close(result["q"], full_q[rank::2], atol=1e-6, rtol=1e-5)
        torch.testing.assert_close(result["center"], single.center)


def test_multicrop_loss_is_the_mean_over_every_pair_naively():
    from hierwbc.losses.dino import dino_global_crops_loss, dino_multicrop_loss

    g = torch.Generator().manual_seed(3)
    B, K, L, temp = 5, 7, 3, 0.1
    s = torch.randn(2 * B, K, generator=g)
    t = torch.softmax(torch.randn(2 * B, K, generator=g), dim=1)
    loc = torch.randn(L * B, K, generator=g)

    def ce(student, teacher):  # mean over images of -sum_k t log softmax(s / T)
        return -(teacher * torch.log_softmax(student / temp, dim=1)).sum(1).mean()

    s1, s2, t1, t2 = s[:B], s[B:], t[:B], t[B:]
    pairs = [ce(s1, t2), ce(s2, t1)]
    pairs += [ce(loc[i * B:(i + 1) * B], tg) for i in range(L) for tg in (t1, t2)]
    expected = torch.stack(pairs).mean()
    torch.testing.assert_close(dino_multicrop_loss(s, t, loc, temp), expected)
    torch.testing.assert_close(dino_multicrop_loss(s, t, None, temp), dino_global_crops_loss(s, t, temp))
    with pytest.raises(ValueError, match="local logits"):
        dino_multicrop_loss(s, t, loc[:-1], temp)
