import math

import torch

from cnnlib.tasks import segmentation


def test_the_confusion_matrix_counts_true_rows_against_predicted_columns():
    truth = torch.tensor([[0, 0, 1, 2]])
    predicted = torch.tensor([[0, 1, 1, 1]])
    assert segmentation.confusion_matrix(predicted, truth, 3).tolist() == [[1, 1, 0], [0, 1, 0], [0, 1, 0]]


def test_iou_by_hand_and_absent_classes_left_out_of_the_mean():
    truth = torch.tensor([[0, 0, 1, 2]])
    predicted = torch.tensor([[0, 1, 1, 1]])
    iou = segmentation.class_iou(segmentation.confusion_matrix(predicted, truth, 4))
    # class 0: 1 pixel in both, 2 in either; class 1: 1 of 3; class 2: 0 of 1; class 3: absent
    assert iou[:3].tolist() == [0.5, 1 / 3, 0.0] and math.isnan(iou[3])
    assert segmentation.mean_iou(predicted, truth, 4) == (0.5 + 1 / 3 + 0) / 3


def test_counts_are_pooled_over_maps_before_the_ratio():
    truth = torch.tensor([[[0, 0]], [[1, 1]]])
    predicted = torch.tensor([[[0, 0]], [[1, 0]]])
    # pooled: class 0 has 2 in both, 3 in either; class 1 has 1 of 2. Per map it would be (1 + (1/2 + 1/2)/2) / 2
    assert segmentation.mean_iou(predicted, truth, 2) == (2 / 3 + 1 / 2) / 2
    assert segmentation.mean_iou(truth, truth, 2) == 1.0


def test_one_hot_scores_give_back_the_labels():
    labels = torch.tensor([[[0, 3], [2, 1]]])
    scores = segmentation.one_hot_scores(labels, 4)
    assert scores.shape == (1, 4, 2, 2)
    assert torch.equal(scores.argmax(1), labels)
    assert (scores.sum(1) == 1).all()


def test_mean_iou_of_sets_scores_each_set_on_its_own():
    truth = torch.zeros(4, 2, 2, dtype=torch.long)
    predicted = truth.clone()
    predicted[2:] = 1  # the second set is all wrong
    assert segmentation.mean_iou_of_sets(predicted, truth, 2, sets=2) == [1.0, 0.0]
