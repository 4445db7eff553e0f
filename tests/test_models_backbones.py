"""Backbones: strides, channels, weight loading (EfficientNet-Lite0 package weights, torchvision-style ResNet)."""
import pytest
import skimage.data
import torch
import torch.nn.functional as F

from ltr.models.backbone import (IMAGENET_MEAN, IMAGENET_STD, TinyBackbone, efficientnet_lite0, preprocess,
                                 resnet18, resnet50)
from ltr.models.backbone.efficientnet_lite import lite0_weights_path


def test_preprocess_normalises_uint8_channels_last():
    images = torch.full((2, 4, 5, 3), 255, dtype=torch.uint8)
    out = preprocess(images)
    assert out.shape == (2, 3, 4, 5)
    expected = (1.0 - torch.tensor(IMAGENET_MEAN)) / torch.tensor(IMAGENET_STD)
    torch.testing.assert_close(out[0, :, 0, 0], expected)
    with pytest.raises(ValueError, match="images"):
        preprocess(torch.zeros(1, 4, 5, 6))


@pytest.mark.parametrize("make, channels", [(resnet18, (128, 256)), (resnet50, (512, 1024)),
                                            (lambda: TinyBackbone((8, 16)), (8, 16)),
                                            (lambda: efficientnet_lite0(pretrained=False), (40, 112))])
def test_backbone_strides_and_channels(make, channels):
    net = make().eval()
    with torch.no_grad():
        out = net(torch.randn(1, 3, 64, 96))
    assert set(out) == {"layer2", "layer3"}
    assert out["layer2"].shape == (1, channels[0], 8, 12)
    assert out["layer3"].shape == (1, channels[1], 4, 6)
    assert net.out_channels == {"layer2": channels[0], "layer3": channels[1]}


def test_lite0_package_weights_load_strictly_and_change_the_output():
    source = torch.load(lite0_weights_path(), map_location="cpu", weights_only=True)
    pretrained = efficientnet_lite0(pretrained=True).eval()
    # the kept part: stem + blocks 0..10 (stages up to 112 channels), no head
    assert len(pretrained.blocks) == 11
    torch.testing.assert_close(pretrained.stem.conv.weight, source["_conv_stem.weight"])
    torch.testing.assert_close(pretrained.blocks[10].project.bn.running_var, source["_blocks.10._bn2.running_var"])
    torch.testing.assert_close(pretrained.blocks[3].depthwise.conv.weight, source["_blocks.3._depthwise_conv.weight"])
    random_init = efficientnet_lite0(pretrained=False).eval()
    image = preprocess(skimage.data.chelsea()[:64, :64])
    with torch.no_grad():
        a, b = pretrained(image)["layer3"], random_init(image)["layer3"]
    assert torch.isfinite(a).all()
    assert (a - b).abs().mean() > 1e-2


def test_lite0_pretrained_classifier_recognises_cat_and_coffee():
    net = efficientnet_lite0(pretrained=True, include_head=True).eval()
    cat_classes = {281, 282, 283, 284, 285}           # tabby, tiger cat, Persian, Siamese, Egyptian cat
    coffee_classes = {504, 967, 968}                  # coffee mug, espresso, cup
    for image, classes in ((skimage.data.chelsea(), cat_classes), (skimage.data.coffee(), coffee_classes)):
        x = F.interpolate(preprocess(image), size=(224, 224), mode="bilinear", align_corners=False)
        with torch.no_grad():
            top1 = int(net.classify(x).argmax())
        assert top1 in classes


def test_lite0_rejects_unknown_output_layer():
    with pytest.raises(ValueError, match="output_layers"):
        efficientnet_lite0(pretrained=False, output_layers=("layer4",))


def test_resnet_loads_torchvision_style_state_dict(tmp_path):
    source = resnet18().state_dict()
    # torchvision names: the trunk we keep, plus parts we must ignore
    for key in ("conv1.weight", "bn1.running_mean", "layer1.0.conv1.weight", "layer2.0.downsample.0.weight",
                "layer2.0.downsample.1.running_var", "layer3.1.bn2.num_batches_tracked"):
        assert key in source
    source = {k: torch.randn_like(v) if v.is_floating_point() else v for k, v in source.items()}
    source["fc.weight"], source["fc.bias"] = torch.randn(1000, 512), torch.randn(1000)
    source["layer4.0.conv1.weight"] = torch.randn(512, 256, 3, 3)
    path = tmp_path / "resnet18.pth"
    torch.save(source, path)
    net = resnet18(weights_path=str(path))
    for key, value in net.state_dict().items():
        torch.testing.assert_close(value, source[key])


def test_resnet50_key_names_and_mismatch_error(tmp_path):
    state = resnet50().state_dict()
    assert state["layer3.5.conv3.weight"].shape == (1024, 256, 1, 1)
    path = tmp_path / "wrong.pth"
    torch.save({"model": state}, path)  # wrapped state dict is unwrapped
    resnet50(weights_path=str(path))
    with pytest.raises(ValueError, match="wrong.pth"):
        resnet18(weights_path=str(path))


def _reference_same_conv(conv, x):
    """TF 'SAME' written out: ``F.pad`` of the full asymmetric padding, then an unpadded convolution."""
    left, right, top, bottom = conv.same_pads(x.shape[-2], x.shape[-1])
    return F.conv2d(F.pad(x, (left, right, top, bottom)), conv.weight, conv.bias, conv.stride, 0, 1, conv.groups)


@pytest.mark.parametrize("kernel, stride, groups, size", [(3, 1, 8, 13), (5, 1, 8, 12), (3, 2, 8, 16), (5, 2, 8, 15),
                                                          (3, 2, 1, 16), (1, 1, 1, 12)])
@pytest.mark.parametrize("channels_last", [False, True])
def test_same_pad_conv_fast_paths_equal_the_written_out_padding(kernel, stride, groups, size, channels_last):
    from ltr.models.backbone.efficientnet_lite import SamePadConv2d
    torch.manual_seed(0)
    conv = SamePadConv2d(8, 16, kernel, stride, groups)
    conv.bias = torch.nn.Parameter(torch.randn(16))
    x = torch.randn(2, 8, size, size + 1)
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    out = conv(x)
    expected = _reference_same_conv(conv, x.contiguous())
    assert out.shape == expected.shape == (2, 16, -(-size // stride), -(-(size + 1) // stride))
    torch.testing.assert_close(out, expected, rtol=1e-5, atol=1e-5)
    # TF 'SAME' conventions: symmetric for stride 1, the extra pixel right/bottom for stride 2
    left, right, top, bottom = conv.same_pads(size, size + 1)
    assert right - left in (0, 1) and bottom - top in (0, 1)
    if stride == 1:
        assert (left, right, top, bottom) == (kernel // 2,) * 4


def test_same_pad_conv_pointwise_path_keeps_gradients():
    from ltr.models.backbone.efficientnet_lite import SamePadConv2d
    conv = SamePadConv2d(6, 4, 1)
    x = torch.randn(1, 6, 5, 7).contiguous(memory_format=torch.channels_last).requires_grad_(True)
    conv(x).square().sum().backward()
    x2 = x.detach().contiguous().requires_grad_(True)
    weight = conv.weight.detach().clone().requires_grad_(True)
    F.conv2d(x2, weight).square().sum().backward()
    torch.testing.assert_close(x.grad, x2.grad, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(conv.weight.grad, weight.grad, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("kernel, size", [(3, 16), (5, 16)])
def test_same_pad_conv_depthwise_stride2_path_keeps_gradients(kernel, size):
    """The depthwise asymmetric pad as a zero tap in front of the kernel: input and weight gradients equal the
    written-out padding's (the zero tap's own gradient is dropped by ``F.pad``'s backward)."""
    from ltr.models.backbone.efficientnet_lite import SamePadConv2d
    torch.manual_seed(1)
    conv = SamePadConv2d(6, 6, kernel, 2, groups=6)
    assert conv.same_pads(size, size)[1] - conv.same_pads(size, size)[0] == 1   # the asymmetric case
    x = torch.randn(1, 6, size, size).contiguous(memory_format=torch.channels_last).requires_grad_(True)
    conv(x).square().sum().backward()
    x2 = x.detach().contiguous().requires_grad_(True)
    reference = SamePadConv2d(6, 6, kernel, 2, groups=6)
    reference.weight = torch.nn.Parameter(conv.weight.detach().clone())
    _reference_same_conv(reference, x2).square().sum().backward()
    torch.testing.assert_close(x.grad, x2.grad, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(conv.weight.grad, reference.weight.grad, rtol=1e-5, atol=1e-5)
