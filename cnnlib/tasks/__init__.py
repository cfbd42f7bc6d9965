"""One classifier, four tasks (notebook 07): the score map of a trained classifier used for
localization, detection and segmentation on canvases whose boxes and masks are known.

    canvas.py        a CIFAR image placed on a larger plain canvas, with its box and mask
    scoremaps.py     a classifier's class scores at every position (CAM), and a background class
    boxes.py         boxes from score maps: the best box, detections, non-maximum suppression, IoU
    segmentation.py  masks from score maps, and their IoU
"""
