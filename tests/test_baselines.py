import torch

from cnnlib.tasks import baselines, boxes, canvas


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


def _plain_canvas(size=64):
    return torch.tensor(canvas.MEAN_COLOUR, dtype=torch.uint8).view(3, 1, 1).repeat(1, 1, size, size)


def test_template_scores_score_the_windows_the_network_scores_and_name_the_nearest_class():
    train = torch.stack([torch.full((3, 32, 32), v, dtype=torch.uint8) for v in (0, 0, 250, 250)])
    labels = torch.tensor([0, 0, 1, 1])
    images = _plain_canvas()
    images[0, :, 32:, 32:] = 240  # a bright square, nearer class 1's mean than the background
    scores = baselines.template_scores(train, labels, images, jump=4, classes=2)
    assert scores.shape == (1, 3, 9, 9)  # two classes and the background, (64 - 32) / 4 + 1 windows a side
    assert scores[0, :, 0, 0].argmax() == 2  # plain background: nearest the background template
    objectness, named = baselines.template_objectness(scores, classes=2)
    assert objectness.shape == named.shape == (1, 9, 9)
    assert objectness[0, 0, 0] == 0  # plain background
    assert objectness[0, 8, 8] > 0.5 and named[0, 8, 8] == 1  # the window on the square
    assert objectness[0, 8, 8] == objectness.max()


def test_differing_windows_give_the_share_of_pixels_off_the_background_colour():
    images = _plain_canvas()
    images[0, :, 32:, 32:] = 0
    share = baselines.differing_windows(images, jump=4)
    assert share.shape == (1, 9, 9)
    assert share[0, 0, 0] == 0 and share[0, 8, 8] == 1
    assert share[0, 4, 4] == 0.25  # the window at (16, 16) covers a 16 x 16 corner of the square
