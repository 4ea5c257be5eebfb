import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import pytest
import torch

from statlearn import data, plotting


def test_image_grid_variants():
    s = data.digits()
    ax = plotting.image_grid(
        s.x_train[:12], nrow=6, titles=[str(int(v)) for v in s.y_train[:12]]
    )
    img = ax.get_images()[0].get_array()
    assert img.shape == (2 * 8 + 1, 6 * 8 + 5)
    plotting.image_grid(s.x_train[:3].reshape(3, 1, 8, 8))
    plotting.image_grid(torch.rand(2, 3, 4, 4))
    with pytest.raises(ValueError, match="square"):
        plotting.image_grid(torch.rand(2, 10))
    with pytest.raises(ValueError, match="empty"):
        plotting.image_grid(torch.rand(0, 4))


def test_density_and_regions():
    ax = plotting.density_2d(
        lambda p: -(p**2).sum(1), xlim=(-2, 2), ylim=(-2, 2), resolution=30
    )
    assert ax.get_xlabel() == "$x_1$"
    x, y = data.two_moons(50, random_state=0)
    ax = plotting.decision_regions(
        lambda p: (p[:, 1] > 0).long(),
        xlim=(-1.5, 2.5),
        ylim=(-1, 1.5),
        X=x,
        y=y,
        resolution=30,
    )
    assert len(ax.collections) == 2  # the regions and the points
    plotting.decision_regions(
        lambda p: torch.where(p[:, 0] > 0, 1, -1),
        xlim=(-1, 1),
        ylim=(-1, 1),
        resolution=10,
    )


def test_gaussian_ellipses():
    _, ax = plt.subplots()
    plotting.gaussian_ellipses(
        torch.zeros(2, 2),
        torch.stack([torch.eye(2), 4 * torch.eye(2)]),
        ax=ax,
        n_std=1.0,
    )
    widths = sorted(p.width for p in ax.patches)
    assert widths == pytest.approx([2.0, 4.0])
    with pytest.raises(ValueError):
        plotting.gaussian_ellipses(torch.zeros(2, 3), torch.zeros(2, 3, 3), ax=ax)


def test_training_curves():
    ax = plotting.training_curves({"loss": [3, 2, 1], "rate": [1, 1, 1]}, keys=["loss"])
    assert len(ax.lines) == 1
    with pytest.raises(ValueError, match="history has no"):
        plotting.training_curves({"loss": [1]}, keys=["val_loss"])


def test_decision_regions_feeds_a_module_at_its_dtype():
    """Issue 15's boundary rule: a float64 classifier gets the (float32) grid cast to
    float64.
    """
    model = torch.nn.Linear(2, 3).double()
    ax = plotting.decision_regions(model, xlim=(-1, 1), ylim=(-1, 1), resolution=10)
    assert ax.collections


def test_diagram_box_and_arrow_draw_on_the_axes():
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

    fig, ax = plt.subplots()
    assert plotting.diagram_box(ax, 1.0, 2.0, 0.8, 0.4, "$x$", "#dce9f5") is ax
    assert plotting.diagram_arrow(ax, 0.0, 0.0, 1.0, 1.0, color="C3") is ax
    box, arrow = ax.patches
    assert isinstance(box, FancyBboxPatch) and isinstance(arrow, FancyArrowPatch)
    assert (box.get_x(), box.get_y()) == pytest.approx((0.6, 1.8))
    assert (box.get_width(), box.get_height()) == pytest.approx((0.8, 0.4))
    assert ax.texts[0].get_text() == "$x$" and ax.texts[0].get_position() == (1.0, 2.0)
    plt.close(fig)
