"""The U-Net: shapes, parameter names, the size rule and its errors, the embedding path, agreement with the
same network written out in PyTorch (output and every parameter's gradient within 1e-4, weights copied over),
and a tiny U-Net overfitting 8 synthetic scenes of rectangles and discs, and 8 Fashion-MNIST scenes."""

from __future__ import annotations

import numpy as np
import pytest

import cnnkit
import cnnkit.nn.functional as F
from cnnkit import models, nn, optim
from cnnkit.metrics import SegmentationConfusion
from cnnkit.models.unet import UNet, output_size, unet
from cnnkit.models.unet_blocks import DoubleConv, Up, center_crop
from cnnkit.summary import summary
from tests.gradcheck import requires_torch


# --------------------------------------------------------------------------- PyTorch mirror
def torch_unet(
    in_channels: int,
    num_classes: int,
    base: int,
    depth: int,
    up: str,
    padding: int = 1,
    norm: str | None = "batch",
    act: str = "relu",
    emb_dim: int | None = None,
    widths: list[int] | None = None,
):
    """The same U-Net in torch.nn, module for module, so that state_dict keys are cnnkit's."""
    import torch
    from torch import nn as tnn

    def make_norm(c):
        return {"batch": lambda: tnn.BatchNorm2d(c), "group": lambda: tnn.GroupNorm(4, c), None: tnn.Identity}[norm]()

    def make_act():
        return tnn.ReLU() if act == "relu" else tnn.SiLU()

    class DoubleConv(tnn.Module):
        def __init__(self, cin, cout, pool=False, up_from=None):
            super().__init__()
            if pool:
                self.pool = tnn.MaxPool2d(2)
            if up_from is not None:
                half = up_from // 2
                if up == "transpose":
                    self.up = tnn.ConvTranspose2d(up_from, half, 2, stride=2)
                else:
                    self.up = tnn.Module()
                    self.up.upsample = tnn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
                    self.up.conv = tnn.Conv2d(up_from, half, 3, padding=1)
            self.conv1 = tnn.Conv2d(cin, cout, 3, padding=padding, bias=norm is None)
            self.emb_proj = tnn.Linear(emb_dim, cout) if emb_dim else None
            self.norm1, self.act1 = make_norm(cout), make_act()
            self.conv2 = tnn.Conv2d(cout, cout, 3, padding=padding, bias=norm is None)
            self.norm2, self.act2 = make_norm(cout), make_act()

        def upsample(self, x):
            return self.up(x) if up == "transpose" else self.up.conv(self.up.upsample(x))

        def forward(self, x, emb=None):
            if hasattr(self, "pool"):
                x = self.pool(x)
            h = self.conv1(x)
            if self.emb_proj is not None:
                h = h + self.emb_proj(make_act()(emb))[:, :, None, None]
            h = self.act1(self.norm1(h))
            return self.act2(self.norm2(self.conv2(h)))

    class TorchUNet(tnn.Module):
        def __init__(self):
            super().__init__()
            w = widths or [base * 2**i for i in range(depth + 1)]
            self.encoder = tnn.ModuleList(
                [DoubleConv(in_channels, w[0])] + [DoubleConv(w[i - 1], w[i], pool=True) for i in range(1, depth + 1)]
            )
            self.decoder = tnn.ModuleList(
                [DoubleConv(w[i + 1] // 2 + w[i], w[i], up_from=w[i + 1]) for i in reversed(range(depth))]
            )
            self.classifier = tnn.Conv2d(w[0], num_classes, 1)

        def forward(self, x, emb=None):
            skips = []
            for block in self.encoder:
                x = block(x, emb)
                skips.append(x)
            skips.pop()
            for block in self.decoder:
                x = block.upsample(x)
                skip = skips.pop()
                top, left = (skip.shape[2] - x.shape[2]) // 2, (skip.shape[3] - x.shape[3]) // 2
                skip = skip[:, :, top : top + x.shape[2], left : left + x.shape[3]]
                x = block(torch.cat([skip, x], dim=1), emb)
            return self.classifier(x)

    return TorchUNet()


def copy_weights(ours: nn.Module, theirs) -> None:
    """cnnkit's weights into the torch mirror (the keys must be the same, which the copy checks)."""
    import torch

    state = {k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()}
    theirs.load_state_dict(state, strict=True)


def assert_same_as_torch(ours: nn.Module, theirs, x: np.ndarray, emb: np.ndarray | None = None) -> None:
    """Output and every parameter's gradient (of Σ output · a random projection) within 1e-4."""
    import torch

    copy_weights(ours, theirs)
    ck_out = ours(cnnkit.tensor(x), None if emb is None else cnnkit.tensor(emb))
    th_out = theirs(torch.tensor(x), None if emb is None else torch.tensor(emb))
    assert ck_out.shape == tuple(th_out.shape)
    np.testing.assert_allclose(ck_out.numpy(), th_out.detach().numpy(), rtol=1e-4, atol=1e-4, err_msg="output")
    projection = np.random.default_rng(1).standard_normal(ck_out.shape).astype(np.float32)
    (ck_out * cnnkit.tensor(projection)).sum().backward()
    (th_out * torch.tensor(projection)).sum().backward()
    th_params = dict(theirs.named_parameters())
    ck_params = dict(ours.named_parameters())
    assert set(ck_params) == set(th_params)
    for name, p in ck_params.items():
        g = th_params[name].grad.numpy()
        scale = max(float(np.abs(g).max()), 1.0)
        np.testing.assert_allclose(p.grad.numpy(), g, rtol=1e-4, atol=1e-4 * scale, err_msg=name)


@requires_torch
@pytest.mark.parametrize(
    ("depth", "up", "size"),
    [(2, "transpose", (16, 24)), (2, "bilinear", (16, 16)), (3, "transpose", (16, 16)), (3, "bilinear", (24, 16))],
)
def test_unet_matches_pytorch_in_training_mode(depth, up, size):
    import torch

    cnnkit.manual_seed(0)
    ours = unet(in_channels=2, num_classes=3, base_channels=4, depth=depth, up=up)
    theirs = torch_unet(2, 3, 4, depth, up)
    x = np.random.default_rng(0).standard_normal((2, 2) + size).astype(np.float32)
    assert_same_as_torch(ours, theirs, x)
    for key, value in theirs.state_dict().items():  # batch norm's running statistics were updated alike
        if "running" in key:
            np.testing.assert_allclose(ours.state_dict()[key].numpy(), value.numpy(), rtol=1e-4, atol=1e-5)
    ours.eval(), theirs.eval()
    with torch.no_grad(), cnnkit.no_grad():
        np.testing.assert_allclose(
            ours(cnnkit.tensor(x)).numpy(), theirs(torch.tensor(x)).numpy(), rtol=1e-4, atol=1e-4
        )


@requires_torch
def test_unet_with_own_widths_matches_pytorch():
    # widths that do not double (and an odd bottleneck width, which the upsampling halves down to 3)
    cnnkit.manual_seed(4)
    ours = unet(num_classes=3, depth=2, widths=[4, 10, 7])
    theirs = torch_unet(1, 3, 0, 2, "transpose", widths=[4, 10, 7])
    assert ours.widths == [4, 10, 7] and "widths=[4, 10, 7]" in repr(ours)
    assert dict(ours.named_parameters())["decoder.0.up.weight"].shape == (7, 3, 2, 2)
    x = np.random.default_rng(5).standard_normal((2, 1, 8, 12)).astype(np.float32)
    assert_same_as_torch(ours, theirs, x)


@requires_torch
def test_unpadded_unet_crops_skips_and_matches_pytorch():
    # padding 0 (Ronneberger et al.): a 44×60 input at depth 2 → 40×56 → 20×28 → 16×24 → 8×12 → bottleneck 4×8
    # → up 8×16, skip 16×24 cropped → 4×12 → up 8×24, skip 40×56 cropped → output 4×20
    cnnkit.manual_seed(1)
    ours = unet(in_channels=1, num_classes=2, base_channels=4, depth=2, padding=0)
    theirs = torch_unet(1, 2, 4, 2, "transpose", padding=0)
    x = np.random.default_rng(2).standard_normal((2, 1, 44, 60)).astype(np.float32)
    assert_same_as_torch(ours, theirs, x)
    assert ours(cnnkit.tensor(x)).shape == (2, 2, 4, 20)


@requires_torch
def test_diffusion_blocks_group_norm_silu_and_embedding_match_pytorch():
    cnnkit.manual_seed(2)
    ours = UNet(1, 1, base_channels=4, depth=2, up="bilinear", norm="group", act="silu", emb_dim=6, num_groups=4)
    theirs = torch_unet(1, 1, 4, 2, "bilinear", norm="group", act="silu", emb_dim=6)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 1, 8, 8)).astype(np.float32)
    emb = rng.standard_normal((3, 6)).astype(np.float32)
    assert_same_as_torch(ours, theirs, x, emb)
    assert "encoder.1.emb_proj.weight" in dict(ours.named_parameters())


# --------------------------------------------------------------------------- structure
def test_default_unet_names_shapes_and_size():
    model = unet()
    params = dict(model.named_parameters())
    assert params["encoder.0.conv1.weight"].shape == (16, 1, 3, 3)
    assert params["encoder.3.conv2.weight"].shape == (128, 128, 3, 3)  # the bottleneck at 64 / 8 = 8×8
    assert params["decoder.0.up.weight"].shape == (128, 64, 2, 2)  # ConvTranspose2d(128 → 64)
    assert params["decoder.0.conv1.weight"].shape == (64, 128, 3, 3)  # [skip 64, up 64] → 64
    assert params["classifier.weight"].shape == (11, 16, 1, 1)
    assert "encoder.0.conv1.bias" not in params  # a conv followed by batch norm needs no bias
    assert sum(p.numel() for p in model.parameters()) == 482_619
    assert model(cnnkit.zeros(2, 1, 64, 64)).shape == (2, 11, 64, 64)


def test_bilinear_up_and_no_batch_norm():
    model = unet(up="bilinear", batch_norm=False, depth=2, base_channels=4, num_classes=5)
    params = dict(model.named_parameters())
    assert params["decoder.0.up.conv.weight"].shape == (8, 16, 3, 3)
    assert "encoder.0.conv1.bias" in params and not any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    assert model(cnnkit.zeros(1, 1, 12, 8)).shape == (1, 5, 12, 8)


def test_registry_entry_and_summary():
    info = models.model_info("unet")
    assert info.input_shape == (1, 64, 64) and info.num_classes == 11 and info.num_params == 482_619
    s = summary(models.get_model("unet", in_channels=1, num_classes=11), info.input_shape)
    assert s.total_params == 482_619
    # MACs by hand at 64×64: per level the two 3×3 convs, then the ups and the classifier
    conv = (
        64 * 64 * 9 * (1 * 16 + 16 * 16)
        + 32 * 32 * 9 * (16 * 32 + 32 * 32)
        + 16 * 16 * 9 * (32 * 64 + 64 * 64)
        + 8 * 8 * 9 * (64 * 128 + 128 * 128)
    )
    decoder = 16 * 16 * 9 * (128 * 64 + 64 * 64) + 32 * 32 * 9 * (64 * 32 + 32 * 32) + 64 * 64 * 9 * (32 * 16 + 16 * 16)
    ups = 8 * 8 * 128 * 64 * 4 + 16 * 16 * 64 * 32 * 4 + 32 * 32 * 32 * 16 * 4
    assert s.total_macs == conv + decoder + ups + 64 * 64 * 16 * 11
    assert "unet" in models.format_models()


@pytest.mark.parametrize(
    ("size", "depth", "padding", "expected"),
    [
        (64, 3, 1, 64),
        (60, 3, 1, None),
        (8, 3, 1, 8),
        (4, 3, 1, None),
        (572, 4, 0, 388),
        (574, 4, 0, None),
        (44, 2, 0, 4),
        (60, 2, 0, 20),
        (28, 2, 0, None),
    ],
)
def test_output_size_rule(size, depth, padding, expected):
    assert output_size(size, depth, padding) == expected


def test_bad_input_sizes_name_the_nearest_valid_ones():
    with pytest.raises(
        ValueError,
        match=r"UNet\(.*depth=3.*input height 65 is not valid: expected a multiple of "
        r"2\*\*depth = 8.*nearest valid heights: 64 or 72",
    ):
        unet()(cnnkit.zeros(1, 1, 65, 64))
    with pytest.raises(ValueError, match=r"input width 4 is not valid.*nearest valid widths: 8$"):
        unet()(cnnkit.zeros(1, 1, 64, 4))
    with pytest.raises(ValueError, match=r"unpadded.*nearest valid heights: 44 or 48"):
        unet(depth=2, padding=0)(cnnkit.zeros(1, 1, 45, 44))
    with pytest.raises(ValueError, match=r"expected input of shape \(N, 1, H, W\), got \(1, 3, 64, 64\)"):
        unet()(cnnkit.zeros(1, 3, 64, 64))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"up": "nearest"}, r"up to be one of \('transpose', 'bilinear'\), got 'nearest'"),
        ({"depth": 0}, "depth to be a positive int, got 0"),
        ({"base_channels": 2.5}, "base_channels to be a positive int"),
        ({"padding": 2}, "padding 1 .* or 0"),
        ({"depth": 2, "widths": [4, 8]}, r"widths to be depth \+ 1 = 3 ints of at least 2, got \[4, 8\]"),
        ({"depth": 1, "widths": [4, 1]}, r"widths .* got \[4, 1\]"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        unet(**kwargs)


def test_group_norm_needs_divisible_widths():
    with pytest.raises(ValueError, match="6 channels cannot be split into 4 groups"):
        UNet(base_channels=6, norm="group", num_groups=4)


def test_embedding_is_required_exactly_when_built_for():
    block = DoubleConv(2, 4, emb_dim=3)
    x = cnnkit.zeros(2, 2, 4, 4)
    with pytest.raises(ValueError, match=r"expected an embedding of shape \(2, 3\), got none"):
        block(x)
    with pytest.raises(ValueError, match=r"expected an embedding of shape \(2, 3\), got shape \(2, 5\)"):
        block(x, cnnkit.zeros(2, 5))
    with pytest.raises(ValueError, match="built without emb_dim"):
        DoubleConv(2, 4)(x, cnnkit.zeros(2, 3))


def test_embedding_shifts_each_sample_by_its_own_projection():
    # with no norm, identity-like act and conv2 ignored: conv1 output + emb_proj(relu(emb)) per sample and channel
    block = DoubleConv(1, 2, norm=None, emb_dim=2).eval()
    block.conv1.weight._data[...] = 0
    block.conv1.bias._data[...] = 0
    block.emb_proj.weight._data[...] = np.array([[1, 0], [0, 2]], np.float32)
    block.emb_proj.bias._data[...] = 0
    h = block.conv1(cnnkit.zeros(2, 1, 3, 3)) + block._embedding(cnnkit.tensor([[1.0, -1.0], [3.0, 4.0]]), 2)
    np.testing.assert_array_equal(h.numpy()[:, :, 1, 1], [[1, 0], [3, 8]])  # relu(−1) = 0


def test_center_crop_odd_margin_cuts_bottom_right():
    x = cnnkit.tensor(np.arange(2 * 7 * 6, dtype=np.float32).reshape(1, 2, 7, 6), requires_grad=True)
    out = center_crop(x, 4, 3)  # margins 3 and 3: top ⌊3/2⌋ = 1, left 1
    np.testing.assert_array_equal(out.numpy(), x.numpy()[:, :, 1:5, 1:4])
    out.sum().backward()
    expected = np.zeros((1, 2, 7, 6), np.float32)
    expected[:, :, 1:5, 1:4] = 1
    np.testing.assert_array_equal(x.grad.numpy(), expected)
    with pytest.raises(ValueError, match="cannot crop a 7×6 map to the larger 8×6"):
        center_crop(x, 8, 6)


def test_up_refuses_a_skip_smaller_than_the_upsampled_map():
    up = Up(4, 2, 2)
    with pytest.raises(ValueError, match="cannot crop a 3×4 map to the larger 4×4"):
        up(cnnkit.zeros(1, 4, 2, 2), cnnkit.zeros(1, 2, 3, 4))


# --------------------------------------------------------------------------- learning
def rectangles_and_discs(n: int, size: int = 32, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """n grey size×size scenes, each with a rectangle, a disc and a third shape of either kind, a brightness per
    shape over faint noise; mask 0 background, 1 rectangle, 2 disc (a later shape covers an earlier one).
    Brightness does not tell the classes apart: the shape does."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    images = rng.normal(0, 0.05, (n, 1, size, size)).astype(np.float32)
    masks = np.zeros((n, size, size), np.int64)
    for i in range(n):
        for disc in (False, True, bool(rng.integers(0, 2))):
            (cy, cx), r = rng.integers(6, size - 6, 2), rng.integers(3, 6)
            if disc:
                inside = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
            else:
                inside = (abs(yy - cy) <= r) & (abs(xx - cx) <= rng.integers(3, 6))
            masks[i][inside] = 2 if disc else 1
            images[i, 0][inside] = rng.uniform(0.5, 1.0)
    return images, masks


def overfit(model, images: np.ndarray, masks: np.ndarray, lr: float, max_steps: int):
    """Adam on the whole batch, cross-entropy + soft Dice (nnU-Net's combination; 255 ignored), until the scenes'
    own mIoU, scored every 10 steps, reaches 0.95. Returns (best mIoU, steps taken, the last confusion)."""
    optimizer = optim.Adam(model.parameters(), lr=lr)
    x, y = cnnkit.tensor(images), cnnkit.tensor(masks.astype(np.int64))
    best, step = 0.0, 0
    while best < 0.95 and step < max_steps:
        step += 1
        model.train()
        logits = model(x)
        loss = F.cross_entropy(logits, y, ignore_index=255) + F.dice_loss(logits, y, ignore_index=255)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 10 == 0:
            model.eval()  # scored as used: batch norm with its running statistics
            with cnnkit.no_grad():
                confusion = SegmentationConfusion(logits.shape[1])
                confusion.update(model(x).numpy(), masks)
            best = max(best, confusion.mean_iou())
    return best, step, confusion


def test_tiny_unet_overfits_eight_scenes():
    images, masks = rectangles_and_discs(8)
    assert set(np.unique(masks)) == {0, 1, 2}
    cnnkit.manual_seed(0)
    model = unet(in_channels=1, num_classes=3, base_channels=8, depth=2)
    # reached 0.95 after 40–60 steps for data seeds 0–2 × model seeds 0–1
    best, step, confusion = overfit(model, images, masks, lr=0.02, max_steps=150)
    assert best >= 0.95, f"mIoU {best:.3f} after {step} steps"
    assert confusion.pixel_accuracy() >= 0.98


def test_tiny_unet_overfits_eight_fashion_scenes(tmp_path):
    """A small U-Net overfits its own data: 8 Fashion-MNIST scenes (11 classes, ignore band) learnt to mIoU ≥ 0.95."""
    from cnnkit.data.scenes import FashionScenes
    from tests.training.tiny_data import write_tiny_fashion

    data = FashionScenes(root=write_tiny_fashion(tmp_path, n_train=200, n_test=20), split="train", num_scenes=8,
                         val_items=60)
    images = data.images[:, None].astype(np.float32) / 255
    assert len(set(np.unique(data.masks)) - {0, 255}) >= 5  # several clothing classes, and ignore pixels
    cnnkit.manual_seed(0)
    model = unet(in_channels=1, num_classes=11, base_channels=16, depth=3)
    # 0.97 after 220 steps (base 8, lr 0.01: 0.94 after 300)
    best, step, _ = overfit(model, images, data.masks, lr=0.005, max_steps=300)
    assert best >= 0.95, f"mIoU {best:.3f} after {step} steps"
