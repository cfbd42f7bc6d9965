import pytest
import torch

from cnnlib import models, recipes, train


@pytest.mark.parametrize("name", recipes.names())
def test_every_quick_recipe_builds_a_model_that_classifies_cifar(name):
    recipe = recipes.get(name, "quick")
    model = models.create(recipe.model, **recipe.options)
    model.eval()
    with torch.no_grad():
        assert model(torch.zeros(2, 3, 32, 32)).shape == (2, 10)


@pytest.mark.parametrize("name", recipes.names())
def test_full_recipes_are_at_least_as_large_as_quick_ones(name):
    quick, full = recipes.get(name, "quick"), recipes.get(name, "full")
    assert full.epochs >= quick.epochs
    assert full.model == quick.model and full.mode == "full" and quick.mode == "quick"


def test_replace_merges_options():
    recipe = recipes.get("baseline", "quick").replace(epochs=1, options={"num_classes": 5})
    assert recipe.epochs == 1 and recipe.options == {"width": 16, "num_classes": 5}


def test_unknown_recipe_lists_the_recipes():
    with pytest.raises(KeyError, match="baseline"):
        recipes.get("resnet9000", "quick")


def test_command_line_trains_a_recipe(tmp_path, capsys):
    path = tmp_path / "baseline.pt"
    train.main(["baseline", "--mode", "quick", "--data", "embedded", "--epochs", "1", "--checkpoint", str(path)])
    out = capsys.readouterr().out
    assert "History(1 epochs" in out
    saved = train.load_checkpoint(path)
    assert saved["meta"] == {"recipe": "baseline", "mode": "quick"}
    assert len(saved["history"]) == 1
