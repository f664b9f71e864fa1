"""The hostile-input catalogue: one file per reader or area (the data readers: test_idx,
test_images, test_float_images, test_image_folder_layout, test_cifar_archives, test_yolo, test_coco, test_voc,
test_scene_data_dir, test_onnx; runs and checkpoints: test_run_folder, test_run_files, test_moved_data,
test_checkpoints, test_checkpoint_types; options: test_cli_args, test_train_options, test_model_args; ops:
test_empty_batch). Each test builds its hostile
input itself and checks the outcome: a one-line refusal naming the file or option (`helpers.refused`), or the
right result; memory bombs run in a child process under an address-space limit and a timeout
(`helpers.run_fenced`). A new reader or format adds its hostile cases here."""
