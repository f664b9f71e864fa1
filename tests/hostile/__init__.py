"""The hostile-input catalogue: one file per reader or area (test_idx, test_images, test_yolo, test_coco, test_voc,
test_onnx, test_run_folder, test_checkpoints, test_cli_args, test_empty_batch). Each test builds its hostile
input itself and checks the outcome: a one-line refusal naming the file or option (`helpers.refused`), or the
right result; memory bombs run in a child process under an address-space limit and a timeout
(`helpers.run_fenced`). A new reader or format adds its hostile cases here."""
