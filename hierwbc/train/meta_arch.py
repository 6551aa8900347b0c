"""The DINOv2 student / EMA-teacher meta-architecture with a supervised term (paper eq. 1):

    L = w_dino L_DINO + w_koleo L_KoLeo + w_ibot L_iBOT + w_sup L_supervised

Semantics follow facebookresearch/dinov2 ``dinov2/train/ssl_meta_arch.py`` (``SSLMetaArch``:
teacher targets from the two global crops with crops swapped for the DINO loss, iBOT on the
student's masked patch tokens against the teacher's unmasked ones, Sinkhorn-Knopp or EMA
centring, KoLeo on the student cls tokens of each crop, EMA of every student module that the
teacher has) with these choices:

- two global crops and, by default, no local crops (paper 2.2; DinoBloom); the DINO term is
  the mean of the cross-view terms; with ``crops.local_crops_number`` L > 0 (multi-crop, what
  makes DINO learn on small data) the student's local-crop cls tokens also meet both teacher
  global crops, and the DINO term is the mean over all 2 + 2L pairs
  (:func:`hierwbc.losses.dino.dino_multicrop_loss`); iBOT and KoLeo use the global crops only;
- a separate iBOT head (DINOv2 ViT-L/g configs);
- the supervised head reads the *student's* cls token of both crops (gradients must reach the
  backbone; the teacher is an EMA and gets none), for the labelled rows (target >= 0);
- in multi-process runs the supervised and KoLeo terms are computed on head outputs gathered
  from every process (autograd all-gather), so they equal the one-process values on the whole
  batch; DINO and iBOT are per-process means that DDP's gradient averaging turns into the
  global mean, with Sinkhorn-Knopp statistics all-reduced.
"""

from __future__ import annotations

from contextlib import nullcontext

import torch
from torch import Tensor, nn

from ..losses.dino import DINOLoss
from ..losses.ibot import iBOTPatchLoss
from ..losses.koleo import koleo_loss
from ..losses.registry import get_loss, loss_options
from ..models.heads import DINOHead
from ..models.networks import backbone_from_config, supervised_head_from_config
from .diagnostics import normalized_entropy
from .distributed import all_reduce_mean, gather_with_grad


class Student(nn.Module):
    """Backbone + DINO head + iBOT head (+ supervised head): everything that gets gradients,
    called once per step (so that DDP/FSDP wrap one module)."""

    def __init__(self, backbone: nn.Module, dino_head: nn.Module, ibot_head: nn.Module,
                 sup_head: nn.Module | None):
        super().__init__()
        self.backbone, self.dino_head, self.ibot_head = backbone, dino_head, ibot_head
        self.sup_head = sup_head

    def forward(self, crops: Tensor, masks: Tensor, mask_indices: Tensor,
                local_crops: Tensor | None = None) -> dict[str, Tensor]:
        """``crops`` [2B, 3, S, S] (``[crop1; crop2]``), ``masks`` [2B, N] bool, ``mask_indices`` [M]
        flat indices of the masked patches, ``local_crops`` [L B, 3, s, s] or None -> cls [2B, D],
        dino [2B, K], ibot [M, K'], sup, dino_local [L B, K] or None."""
        out = self.backbone.forward_features(crops, masks=masks)
        cls = out["x_norm_clstoken"]
        patches = out["x_norm_patchtokens"].flatten(0, 1).index_select(0, mask_indices)
        dino_local = None
        if local_crops is not None and local_crops.shape[0]:
            dino_local = self.dino_head(self.backbone.forward_features(local_crops)["x_norm_clstoken"])
        return {"cls": cls, "dino": self.dino_head(cls), "ibot": self.ibot_head(patches),
                "sup": self.sup_head(cls) if self.sup_head is not None else None, "dino_local": dino_local}


class Teacher(nn.Module):
    """EMA copy of the student's backbone and SSL heads (no gradients)."""

    def __init__(self, backbone: nn.Module, dino_head: nn.Module, ibot_head: nn.Module):
        super().__init__()
        self.backbone, self.dino_head, self.ibot_head = backbone, dino_head, ibot_head


class MetaArch(nn.Module):
    """Student, teacher and loss modules of one run (``cfg``: TrainConfig)."""

    def __init__(self, cfg, hierarchy):
        super().__init__()
        self.cfg = cfg
        m, d, ib, s = cfg.model, cfg.dino, cfg.ibot, cfg.supervised
        def heads():
            dino = DINOHead(embed_dim, d.head_n_prototypes, d.head_nlayers, d.head_hidden_dim, d.head_bottleneck_dim,
                            norm_last_layer=d.norm_last_layer)
            ibot = DINOHead(embed_dim, ib.head_n_prototypes, ib.head_nlayers, ib.head_hidden_dim,
                            ib.head_bottleneck_dim, norm_last_layer=d.norm_last_layer)
            return dino, ibot

        student_backbone = backbone_from_config(cfg, drop_path_rate=m.drop_path_rate)
        embed_dim = student_backbone.embed_dim
        sup_head = supervised_head_from_config(cfg, hierarchy, embed_dim)
        if sup_head is not None:
            self.sup_loss = get_loss(s.loss, hierarchy, **loss_options(s))
        self.student = Student(student_backbone, *heads(), sup_head)
        self.teacher = Teacher(backbone_from_config(cfg), *heads())
        for name in ("backbone", "dino_head", "ibot_head"):
            getattr(self.teacher, name).load_state_dict(getattr(self.student, name).state_dict())
        self.teacher.requires_grad_(False)
        self.dino_loss = DINOLoss(d.head_n_prototypes, student_temp=d.student_temp)
        self.ibot_loss = iBOTPatchLoss(ib.head_n_prototypes, student_temp=d.student_temp)
        self._student_call = [self.student]  # replaced by a DDP wrapper, not a submodule
        self.sharded = False  # set by hierwbc.train.wrap when FSDP shards the modules
        self.diagnostics: dict[str, Tensor] = {}  # of the last step (hierwbc.train.diagnostics)

    # ------------------------------------------------------------------ pieces of a step
    def set_student_wrapper(self, wrapped: nn.Module) -> None:
        self._student_call = [wrapped]

    def train(self, mode: bool = True):
        super().train(mode)
        self.teacher.eval()
        return self

    @torch.no_grad()
    def teacher_targets(self, crops: Tensor, mask_indices: Tensor, n_masked: Tensor,
                        teacher_temp: float) -> tuple[Tensor, Tensor]:
        """Centred teacher probabilities: DINO [2B, K] in crop order, iBOT [M, K'] (masked patches)."""
        out = self.teacher.backbone.forward_features(crops)
        dino_logits = self.teacher.dino_head(out["x_norm_clstoken"])
        patches = out["x_norm_patchtokens"].flatten(0, 1).index_select(0, mask_indices)
        ibot_logits = self.teacher.ibot_head(patches)
        if self.cfg.dino.centering == "sinkhorn_knopp":
            dino = self.dino_loss.sinkhorn_knopp_teacher(dino_logits.float(), teacher_temp)
            ibot = self.ibot_loss.sinkhorn_knopp_teacher(ibot_logits.float(), teacher_temp, n_masked)
        else:
            dino = self.dino_loss.softmax_center_teacher(dino_logits.float(), teacher_temp)
            self.dino_loss.update_center(dino_logits.float())
            ibot = self.ibot_loss.softmax_center_teacher(ibot_logits.float(), teacher_temp)
            self.ibot_loss.update_center(ibot_logits.float())
        self.diagnostics = {"dino_target_entropy": normalized_entropy(dino)}  # this process's rows
        return dino, ibot

    def forward_losses(self, crops: Tensor, masks: dict, targets: Tensor, teacher_temp: float,
                       autocast=nullcontext, local_crops: Tensor | None = None) -> dict[str, Tensor]:
        """All loss terms of one step (not yet backpropagated).

        ``crops`` [2B, 3, S, S]; ``masks`` from :func:`hierwbc.train.masking.collate_masks` for
        the 2B crops; ``targets`` [B] node indices (-1 unlabelled); ``local_crops`` [L B, 3, s, s]
        or None. Returns the weighted terms and ``loss`` (their sum).
        """
        cfg = self.cfg
        mask_indices = masks["mask_indices_list"]
        with autocast():
            t_dino, t_ibot = self.teacher_targets(crops, mask_indices, masks["n_masked_patches"], teacher_temp)
            out = self._student_call[0](crops, masks["masks"], mask_indices, local_crops)
        terms: dict[str, Tensor] = {}
        local = out["dino_local"].float() if out["dino_local"] is not None else None
        terms["dino"] = cfg.dino.loss_weight * self.dino_loss(out["dino"].float(), t_dino, local)
        if cfg.dino.koleo_loss_weight > 0:
            cls = gather_with_grad(out["cls"].float().unflatten(0, (2, -1)).transpose(0, 1)).transpose(0, 1)
            terms["koleo"] = cfg.dino.koleo_loss_weight * (koleo_loss(cls[0]) + koleo_loss(cls[1]))
        terms["ibot"] = cfg.ibot.loss_weight * self.ibot_loss.forward_masked(
            out["ibot"].float(), t_ibot, masks["masks"], masks_weight=masks["masks_weight"])
        if out["sup"] is not None:
            sup_out = gather_with_grad(out["sup"].float().unflatten(0, (2, -1)).transpose(0, 1))
            sup_out = sup_out.transpose(0, 1).flatten(0, 1)  # [2 B_global, ...] in crop order
            all_targets = gather_with_grad(targets).repeat(2)
            # "+ 0 * sum" keeps the head in the graph when no row is labelled (DDP needs every
            # parameter to get a gradient)
            terms["sup"] = cfg.supervised.loss_weight * self.sup_loss(sup_out, all_targets) + 0.0 * sup_out.sum()
        terms["loss"] = sum(terms.values())
        return terms

    @torch.no_grad()
    def update_teacher(self, momentum: float) -> None:
        """EMA: ``teacher = m teacher + (1 - m) student`` for every module the teacher has."""
        s_params, t_params = [], []
        for part in (self.student, self.teacher):  # FSDP2 (dinov2's reshard_fsdp_model): back to shards
            for m in part.modules():
                if hasattr(m, "reshard"):
                    m.reshard()
        for name in ("backbone", "dino_head", "ibot_head"):
            s = dict(getattr(self.student, name).named_parameters())
            for k, p in getattr(self.teacher, name).named_parameters():
                t_params.append(_local(p))  # FSDP2: matching shards of student and teacher
                s_params.append(_local(s[k].detach()))
        torch._foreach_lerp_(t_params, s_params, 1 - momentum)  # t + (1 - m)(s - t)


def _local(p: Tensor) -> Tensor:
    return p.to_local() if hasattr(p, "to_local") else p


def reduce_terms(terms: dict[str, Tensor]) -> dict[str, float]:
    """Loss terms averaged over processes, as floats (for logging and the NaN check)."""
    names = sorted(terms)
    vec = torch.stack([terms[k].detach().float() for k in names])
    vec = all_reduce_mean(vec)
    return dict(zip(names, vec.tolist()))
