"""FunctionBench image_processing: resize and thumbnail a generated image (Pillow)."""
import base64
import io

from PIL import Image, ImageDraw, ImageStat

from workloads.functions._params import validate

TENANT = "bob"
DESCRIPTION = "Pillow resize + thumbnail of a generated RGB image"
SIZES = {"small": 256, "medium": 1024, "large": 2560}
PARAMETERS = {
    "side": {"type": "integer", "default": 256, "minimum": 1, "maximum": 4096, "description": "side of the generated image, px"},
    "scale": {"type": "number", "default": 0.5, "minimum": 0.01, "maximum": 1.0, "description": "resize factor"},
    "seed": {"type": "integer", "default": 0, "minimum": 0, "maximum": 2_147_483_647, "description": "input generator seed"},
}


def _image(side, seed):
    # Deterministic picture with structure (gradient plus seeded rectangles).
    img = Image.linear_gradient("L").resize((side, side)).convert("RGB")
    draw = ImageDraw.Draw(img)
    state = seed * 2654435761 % 2**32
    for _ in range(12):
        state = (1103515245 * state + 12345) % 2**31
        x, y = state % side, (state // side) % side
        draw.rectangle([x, y, min(side - 1, x + side // 6), min(side - 1, y + side // 6)],
                       fill=(state % 256, (state >> 8) % 256, (state >> 16) % 256))
    return img


def handler(event):
    event = validate(PARAMETERS, event)
    side, scale = event["side"], float(event["scale"])
    img = _image(side, event["seed"])
    resized = img.resize((max(1, int(side * scale)),) * 2, Image.Resampling.LANCZOS)
    thumb = img.copy()
    thumb.thumbnail((64, 64))
    buf = io.BytesIO()
    thumb.save(buf, format="PNG")
    return {"size": list(resized.size), "mean_rgb": ImageStat.Stat(resized).mean,
            "thumbnail_png_b64": base64.b64encode(buf.getvalue()).decode()}


def make_event(size="small", seed=0):
    return {"side": SIZES[size], "scale": 0.5, "seed": seed}


def check(event, result):
    side = event["side"]
    original = ImageStat.Stat(_image(side, event["seed"])).mean
    thumb = Image.open(io.BytesIO(base64.b64decode(result["thumbnail_png_b64"])))
    # Resampling keeps the average colour: within 0.34 levels at 256 px, far less above.
    return (result["size"] == [int(side * event["scale"])] * 2 and max(thumb.size) == min(64, side)
            and len(result["mean_rgb"]) == 3
            and all(abs(a - b) < 0.6 for a, b in zip(result["mean_rgb"], original)))
