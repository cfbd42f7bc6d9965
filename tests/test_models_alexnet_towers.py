"""AlexNet's two towers on two devices compute what the grouped convolution on one computes."""
import pytest
import torch

from cnnlib import arith, config, data, models, train
from cnnlib.models import alexnet_towers


def without_lrn(rows):
    return [row._replace(lrn=False) for row in rows]


def test_the_towers_have_the_papers_parameters():
    with torch.device("meta"):
        towers = models.create("alexnet_2012_towers")
        grouped = models.create("alexnet_2012")
    assert arith.count_parameters(towers) == arith.count_parameters(grouped) == 60_965_224


@pytest.mark.parametrize("rows, size, options", [
    (alexnet_towers.PAPER_CONVS, 224, dict()),
    (alexnet_towers.CIFAR_CONVS, 32, dict(scale=8 / 64, num_classes=10, hidden=128, pool_size=4, pool_padding=1)),
])
def test_with_the_same_weights_the_towers_compute_the_grouped_network(rows, size, options):
    # LRN aside (on two GPUs its window stops at the tower's edge; see the next test), the towers
    # are the grouped network: the same outputs from the same weights.
    config.seed_everything(0)
    scale = options.get("scale", 1.0)
    features, channels = models.alexnet.make_features(without_lrn(rows), lrn=False, groups=2, overlapping_pool=True,
                                                      pool_padding=options.get("pool_padding", 0), scale=scale)
    pool = options.get("pool_size", 6)
    grouped = models.alexnet.AlexNet(features, pool, models.alexnet.make_classifier(
        channels * pool * pool, options.get("hidden", 4096), options.get("num_classes", 1000), 0.5)).eval()
    towers = alexnet_towers.TwoTowerAlexNet(rows, lrn=False, **options).load_grouped(grouped).eval()
    x = torch.randn(2, 3, size, size)
    with torch.no_grad():
        assert torch.allclose(towers(x), grouped(x), atol=1e-5, rtol=1e-4)


def test_lrn_on_a_tower_normalizes_over_its_own_maps_only():
    lrn = models.alexnet.local_response_norm()
    maps = torch.rand(1, 96, 5, 5) * 10
    per_tower = torch.cat([lrn(maps[:, :48]), lrn(maps[:, 48:])], 1)
    across = lrn(maps)
    edge = [46, 47, 48, 49]  # within two maps of the boundary the one-device window reaches the other tower
    inside = [c for c in range(96) if c not in edge]
    assert torch.allclose(per_tower[:, inside], across[:, inside])
    assert not torch.allclose(per_tower[:, edge], across[:, edge])


def test_what_crosses_between_the_towers_follows_from_the_shapes():
    with torch.device("meta"):
        towers = models.create("alexnet_2012_towers")
    # conv3 reads both towers' 128 maps of 13x13; FC6 both towers' 128 maps of 6x6; FC7 and FC8 both
    # towers' 2048 neurons. Each tower sends its half to the other: count both directions.
    expected = 2 * 128 * 13 * 13 + 2 * 128 * 6 * 6 + 2 * 2048 + 2 * 2048
    assert towers.transfers_per_image((3, 224, 224)) == expected


def test_the_towers_train_with_fit_where_they_were_placed():
    cifar = data.load_cifar10("embedded", device="cpu", verbose=False).subset(train=256, test=100)
    config.seed_everything(0)
    towers = models.create("cifar_alexnet_towers", width=8, devices=("cpu", "cpu"))
    before = [p.detach().clone() for p in towers.parameters()]
    history = train.fit(towers, cifar, epochs=1, lr=0.01, batch_size=32, progress=False, verbose=False)
    assert history.finished and all(d.type == "cpu" for d in towers.devices)
    assert any(not torch.equal(b, p) for b, p in zip(before, towers.parameters()))
    assert towers.towers[0].convs[2].in_channels == 24  # conv3 reads both towers' 12 maps of conv2
