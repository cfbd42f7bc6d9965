import pytest
import torch

from cnnlib.tasks import boxes
from cnnlib.tasks.boxes import Detections


def test_pointing_hits_ask_whether_the_peak_is_inside_the_box():
    maps = torch.zeros(2, 10, 10)
    maps[0, 3, 4] = 1  # row 3, column 4
    maps[1, 9, 9] = 1
    box = torch.tensor([[4, 3, 5, 4], [0, 0, 9, 9]])  # x1, y1 exclusive: (9, 9) is just outside
    assert boxes.pointing_hits(maps, box).tolist() == [True, False]


def test_peak_boxes_keep_the_region_connected_to_the_peak():
    maps = torch.zeros(1, 12, 12)
    maps[0, 2:5, 3:8] = 0.5   # the peak's region, rows 2-4, columns 3-7
    maps[0, 3, 5] = 1.0
    maps[0, 9:11, 9:11] = 0.9  # above the threshold but not connected to the peak
    assert boxes.peak_boxes(maps, fraction=0.2).tolist() == [[3, 2, 8, 5]]
    assert boxes.peak_boxes(maps, fraction=0.95).tolist() == [[5, 3, 6, 4]]


def test_window_boxes_run_row_by_row():
    found = boxes.window_boxes(2, 3, jump=4, window=32)
    assert found.shape == (6, 4)
    assert found[0].tolist() == [0, 0, 32, 32] and found[2].tolist() == [8, 0, 40, 32]
    assert found[3].tolist() == [0, 4, 32, 36]


def test_detect_takes_peaks_above_the_threshold_and_suppresses_overlaps():
    objectness = torch.zeros(1, 10, 10)
    objectness[0, 2, 3] = 0.9   # a peak: box at (12, 8)
    objectness[0, 2, 5] = 0.8   # another peak 8 px to the right: IoU 24/40 > 0.3, suppressed
    objectness[0, 8, 8] = 0.7   # far away: kept
    objectness[0, 0, 9] = 0.4   # below the threshold
    labels = torch.full((1, 10, 10), 3)
    found = boxes.detect(objectness, labels, jump=4, window=32, threshold=0.5, overlap=0.3)[0]
    assert sorted(found.boxes.tolist()) == [[12.0, 8.0, 44.0, 40.0], [32.0, 32.0, 64.0, 64.0]]
    assert found.labels.tolist() == [3, 3]
    none = boxes.detect(objectness, labels, jump=4, threshold=0.95)[0]
    assert len(none) == 0


def one(x, y, label=0, score=1.0):
    return Detections(torch.tensor([[x, y, x + 32, y + 32]], dtype=torch.float), torch.tensor([label]),
                      torch.tensor([score]))


def test_iou_one_half_is_a_shift_of_at_most_ten_pixels_along_one_axis():
    truth, label = torch.tensor([[0, 0, 32, 32]]), torch.tensor([0])
    # IoU of two 32-px squares shifted by d: (32 - d) / (32 + d), at least 0.5 for d <= 10.67
    assert boxes.match(one(10, 0), truth, label).tolist() == [True]
    assert boxes.match(one(11, 0), truth, label).tolist() == [False]
    assert boxes.match(one(0, 0, label=1), truth, label).tolist() == [False]
    assert boxes.match(one(0, 0, label=1), truth, label, by_class=False).tolist() == [True]


def test_a_second_box_on_the_same_object_is_a_false_positive():
    truth, labels = torch.tensor([[0, 0, 32, 32], [64, 0, 96, 32]]), torch.tensor([0, 1])
    found = Detections(torch.tensor([[2., 0, 34, 32], [0., 0, 32, 32], [64., 0, 96, 32]]),
                       torch.tensor([0, 0, 1]), torch.tensor([0.5, 0.9, 0.7]))
    # the better-scored exact box claims object 0 first; the 0.5 box then finds it claimed
    assert boxes.match(found, truth, labels).tolist() == [False, True, True]


class Truth:
    def __init__(self, boxes, labels):
        self.boxes, self.labels = torch.tensor(boxes), torch.tensor(labels)


def test_precision_recall_over_images_and_the_curve_ending_there():
    truths = [Truth([[0, 0, 32, 32], [64, 64, 96, 96]], [0, 1]), Truth([[10, 10, 42, 42]], [2])]
    found = [Detections(torch.tensor([[0., 0, 32, 32], [40., 40, 72, 72]]), torch.tensor([0, 1]),
                        torch.tensor([0.9, 0.6])),
             Detections(torch.tensor([[10., 10, 42, 42]]), torch.tensor([5]), torch.tensor([0.8]))]
    score = boxes.precision_recall(found, truths)
    assert (score.true_positives, score.detections, score.objects) == (1, 3, 3)
    assert score.precision == score.recall == 1 / 3
    assert boxes.precision_recall(found, truths, by_class=False).true_positives == 2
    thresholds, precision, recall = boxes.precision_recall_curve(found, truths)
    assert thresholds.tolist() == pytest.approx([0.9, 0.8, 0.6])
    assert precision.tolist() == pytest.approx([1.0, 0.5, 1 / 3]) and recall.tolist() == pytest.approx([1 / 3] * 3)


def test_best_keeps_the_first_detections_which_detect_orders_best_first():
    objectness = torch.zeros(1, 9, 9)
    objectness[0, 1, 1], objectness[0, 5, 5], objectness[0, 1, 6] = 0.9, 0.7, 0.8
    found = boxes.detect(objectness, torch.zeros(1, 9, 9, dtype=torch.long), jump=4, threshold=0.5)[0]
    assert found.scores.tolist() == pytest.approx([0.9, 0.8, 0.7])
    two = found.best(2)
    assert len(two) == 2 and torch.equal(two.boxes, found.boxes[:2])
    assert len(found.best(10)) == 3
    one = boxes.detect(objectness, torch.zeros(1, 9, 9, dtype=torch.long), jump=4, threshold=0.0, most=[1])[0]
    assert one.scores.tolist() == pytest.approx([0.9])
    with pytest.raises(ValueError, match="2 counts for 1 images"):
        boxes.detect(objectness, torch.zeros(1, 9, 9, dtype=torch.long), jump=4, most=[1, 1])
