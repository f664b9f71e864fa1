"""Pictures of what a CNN learned, drawn with matplotlib (Agg, no window) and written as PNG files.

One module per kind of figure; every `plot_*` function takes the data and a path and returns the path:

    filters.py        plot_filters(model, path)                          first conv layer's kernels
    feature_maps.py   feature_maps / plot_feature_maps(model, layer, image, path)   a layer's activations
    top_patches.py    top_patches(model, layer, channels, dataset) → plot_top_patches(patches, path)
    kernels_figure.py plot_kernels(image, path)                          the classic kernels applied
    curves.py         plot_curves(history, path)                         loss and accuracy per epoch
    confusion.py      plot_confusion_matrix(confusion, classes, path)
    misclassified.py  most_confident_mistakes / plot_misclassified(images, targets, probabilities, classes, path)
    shift.py          shift_images, accuracy_under_shift / plot_shift_accuracy(shifts, accuracies, path)
    segmentation.py   colorize_mask, overlay_mask, error_map / plot_segmentation(images, targets, predictions,
                      class_names, path)                                 masks in VOC's colours, with a legend
    detection.py      draw_boxes(image, boxes, labels, ...), match_colours / plot_detections(images, targets,
                      predictions, class_names, path), plot_pr_curves(voc_result, class_names, path)
    explain.py        grad_cam(model, layer, image, target) / saliency(model, image, target)   where it looks
    explain_figure.py plot_explanation(image, cam, classes, path), plot_explanations(...)   heat map over the image
    gradient_flow.py  plot_flow_lines(records, path), plot_flow_bars(records, path)   per-layer gradient flow
    gradient_demo.py  plot_gradient_demo(norms, accuracy, path)          the vanishing-gradient demo's figure

`figure.py` makes and saves the figures; `hooks.py` finds layers by name and captures their outputs.
"""

from cnnkit.viz.confusion import plot_confusion_matrix
from cnnkit.viz.curves import plot_curves
from cnnkit.viz.detection import draw_boxes, match_colours, plot_detections, plot_pr_curves
from cnnkit.viz.explain import GradCam, Saliency, grad_cam, saliency
from cnnkit.viz.explain_figure import plot_explanation, plot_explanations
from cnnkit.viz.feature_maps import feature_maps, plot_feature_maps
from cnnkit.viz.filters import plot_filters
from cnnkit.viz.kernels_figure import plot_kernels
from cnnkit.viz.misclassified import most_confident_mistakes, plot_misclassified
from cnnkit.viz.segmentation import colorize_mask, error_map, overlay_mask, plot_segmentation
from cnnkit.viz.shift import accuracy_under_shift, plot_shift_accuracy, shift_images
from cnnkit.viz.top_patches import Patch, plot_top_patches, top_patches

__all__ = [
    "GradCam", "Patch", "Saliency", "accuracy_under_shift", "grad_cam", "plot_explanation", "plot_explanations",
    "saliency", "colorize_mask", "draw_boxes", "error_map", "feature_maps", "match_colours",
    "most_confident_mistakes", "overlay_mask", "plot_confusion_matrix", "plot_curves", "plot_detections",
    "plot_feature_maps", "plot_filters", "plot_kernels", "plot_misclassified", "plot_pr_curves",
    "plot_segmentation", "plot_shift_accuracy", "plot_top_patches", "shift_images", "top_patches",
]  # fmt: skip
