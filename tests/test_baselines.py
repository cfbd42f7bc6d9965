import torch

from cnnlib.tasks import baselines, boxes


def test_nearest_mean_labels_each_image_with_the_class_whose_mean_image_is_nearest():
    train = torch.stack([torch.full((3, 4, 4), v, dtype=torch.uint8) for v in (10, 12, 200, 202)])
    labels = torch.tensor([0, 0, 1, 1])
    images = torch.stack([torch.full((3, 4, 4), v, dtype=torch.uint8) for v in (0, 120, 255)])
    assert baselines.nearest_mean(train, labels, images, classes=2).tolist() == [0, 1, 1]


def test_the_centre_point_and_box_sit_at_the_canvas_centre():
    point = baselines.centre_points(2, 96)
    inside = torch.tensor([[40, 40, 72, 72], [0, 0, 32, 32]])
    assert boxes.pointing_hits(point, inside).tolist() == [True, False]
    assert baselines.centre_boxes(1, 96).tolist() == [[32, 32, 64, 64]]
