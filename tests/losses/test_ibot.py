"""iBOT masked-patch loss: per-image weighting, padded buffers, centring, Sinkhorn over ranks."""
import subprocess
import sys
import textwrap

import torch

from hierwbc.losses.dino import sinkhorn_knopp
from hierwbc.losses.ibot import (
    ibot_dense_loss,
    ibot_masked_loss,
    iBOTPatchLoss,
    masks_weight_from_masks,
)

B, N, K = 4, 6, 5


def example(seed=0):
    gen = torch.Generator().manual_seed(seed)
    masks = torch.zeros(B, N, dtype=torch.bool)
    masks[0, [0, 2, 3]] = True
    masks[1, [5]] = True
    masks[3, :] = True  # image 2 has no mask: it counts as 0 in the mean over images
    student = torch.randn(B, N, K, generator=gen)
    teacher = torch.softmax(torch.randn(B, N, K, generator=gen), dim=-1)
    return masks, student, teacher


def loop_reference(masks, student, teacher, temp=0.1):
    total = 0.0
    for b in range(B):
        positions = masks[b].nonzero().flatten().tolist()
        if not positions:
            continue
        per_patch = [-(teacher[b, n] * torch.log_softmax(student[b, n] / temp, -1)).sum()
                     for n in positions]
        total += sum(per_patch) / len(positions)
    return total / B


def test_masked_loss_equals_per_image_loop():
    masks, student, teacher = example()
    expected = loop_reference(masks, student, teacher)
    got = ibot_masked_loss(student[masks], teacher[masks], masks)
    torch.testing.assert_close(got, expected)
    loss = iBOTPatchLoss(K)
    torch.testing.assert_close(loss.forward_masked(student[masks], teacher[masks], masks), expected)
    torch.testing.assert_close(loss(student, teacher, masks), expected)  # dense variant
    torch.testing.assert_close(ibot_dense_loss(student, teacher, masks), expected)


def test_masks_weight_and_padded_buffer():
    masks, student, teacher = example()
    weight = masks_weight_from_masks(masks)
    torch.testing.assert_close(weight, torch.tensor([1 / 3] * 3 + [1.0] + [1 / 6] * 6))
    m = int(masks.sum())
    pad = torch.randn(3, K) * 100  # an upper-bound buffer: rows past n_masked are garbage
    s_buf = torch.cat((student[masks], pad))
    t_buf = torch.cat((teacher[masks], torch.softmax(pad, -1)))
    got = ibot_masked_loss(s_buf, t_buf, masks, masks_weight=weight, n_masked_patches=m)
    torch.testing.assert_close(got, loop_reference(masks, student, teacher))


def test_gradient_flows_to_student_masked_rows_only():
    masks, student, teacher = example()
    student = student.requires_grad_(True)
    ibot_dense_loss(student, teacher, masks).backward()
    assert (student.grad[~masks] == 0).all()
    assert (student.grad[masks].abs().sum(-1) > 0).all()


def test_center_update_hand_example_and_empty_masks():
    loss = iBOTPatchLoss(2, center_momentum=0.5)
    loss.update_center(torch.tensor([[2.0, 0.0], [4.0, 2.0]]))
    torch.testing.assert_close(loss.center, torch.tensor([[1.5, 0.5]]))
    loss.update_center(torch.zeros(0, 2))  # nothing masked: centre unchanged, no NaN
    torch.testing.assert_close(loss.center, torch.tensor([[1.5, 0.5]]))
    probs = loss.softmax_center_teacher(torch.tensor([[1.5, 0.5]]), 1.0)
    torch.testing.assert_close(probs, torch.tensor([[0.5, 0.5]]))


def test_sinkhorn_one_process_and_count_tensor_untouched():
    logits = torch.rand(9, K) * 2 - 1
    count = torch.tensor([9])
    q = iBOTPatchLoss(K).sinkhorn_knopp_teacher(logits, 0.07, count)
    torch.testing.assert_close(q, sinkhorn_knopp(logits, 0.07))
    assert count.tolist() == [9]
    empty = iBOTPatchLoss(K).sinkhorn_knopp_teacher(torch.zeros(0, K), 0.07, torch.tensor([0]))
    assert empty.shape == (0, K)


WORKER = textwrap.dedent("""
    import sys, torch, torch.distributed as dist
    from hierwbc.losses.ibot import iBOTPatchLoss
    rank, world, init, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=world)
    logits = torch.rand(11, 5, generator=torch.Generator().manual_seed(0)) * 2 - 1
    mine = logits[:7] if rank == 0 else logits[7:]  # uneven masked counts per rank
    count = torch.tensor([mine.shape[0]])
    loss = iBOTPatchLoss(5)
    q = loss.sinkhorn_knopp_teacher(mine, 0.07, count)
    loss.update_center(mine)
    torch.save({"q": q, "center": loss.center, "count": count}, f"{out}/rank{rank}.pt")
    dist.destroy_process_group()
""")


def test_two_processes_with_uneven_masks_equal_one_process(tmp_path):
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    init = f"file://{tmp_path}/rendezvous"
    procs = [subprocess.Popen([sys.executable, str(script), str(r), "2", init, str(tmp_path)])
             for r in range(2)]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    logits = torch.rand(11, 5, generator=torch.Generator().manual_seed(0)) * 2 - 1
    full = iBOTPatchLoss(5)
    full_q = full.sinkhorn_knopp_teacher(logits, 0.07)
    full.update_center(logits)
    parts = [torch.load(tmp_path / f"rank{r}.pt", weights_only=True) for r in range(2)]
    torch.testing.assert_close(torch.cat([p["q"] for p in parts]), full_q, atol=1e-6, rtol=1e-5)
    for part in parts:
        torch.testing.assert_close(part["center"], full.center)  # global mean, not mean of means
    assert [p["count"].tolist() for p in parts] == [[7], [4]]  # caller's tensors untouched
