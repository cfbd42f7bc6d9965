"""cnnlib: the small library shared by the notebooks of *CNN architectures, hands-on*.

The names a notebook uses, by what they are for (each module's docstring says more):

Setting up
    config.get_mode, config.get_device, config.device_name, config.seed_everything
    data.load_cifar10 (-> a data.Cifar10: train_images, train_labels, test_images, test_labels, classes)
    data.batches.normalize, data.batches.random_crop_flip (what a training batch is made of)

Training a recipe
    recipes.run(name, cifar, seed=..., **overrides) -> Run (.model, .history, .record); recipes.run_all
    recipes.get(name, mode), recipes.build(recipe, seed): a recipe's settings, its untrained model
    recipes.sweep, recipes.recorded, recipes.side_by_side_jobs: learning-rate sweeps and runs shipped
    with the course (scripts/recorded_runs.py), read instead of trained again
    train.History (.train_acc, .test_acc, .step_error(window), ...), train.evaluate(model, cifar, split)
    (checkpoints, the stop button, the time estimate and torchrun are in cnnlib.train's modules)

Models and their arithmetic
    models.create(name, **options); the model files models.alexnet, vgg, googlenet, resnet, densenet
    arith.parameter_table(model, input_size), arith.count_parameters, arith.receptive_field(...)
    probes: measurements inside a network (gradients per layer, dead units, saved activations)

Results and claims
    results.load, results.reference, results.describe_reference: learners' runs and shipped references
    claims.ClaimCheck(title, notebook=...) with .demonstration, .experiment, .save;
    claims.compare, claims.compare_seeds: the course's one noise rule (defined in cnnlib.noise)
    scores.of(run, "train_error"), scores.versus: a run's rate with its images and shipped seed spread
    published.RESULTS, published.steps: the papers' ImageNet numbers (S-7)

Showing
    viz.plot_histories, viz.plot_sweeps, viz.show_images, viz.predictions_grid, viz.show_source, viz.show_run, viz.Table
    widgets.ReceptiveFieldExplorer (notebook 03)
    tasks.canvas, tasks.scoremaps, tasks.boxes, tasks.segmentation, tasks.baselines (notebook 07)
"""

__version__ = "0.3.0"
