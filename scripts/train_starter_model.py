"""Train the small starter model bundled for the demo: synthetic ICT faces, held-out subjects, CPU, minutes.

    python scripts/train_starter_model.py --out affectvlm/assets/default_model

A tiny AffectVLM (2-layer towers, 64 px views) trained from random weights with the paper's losses on
the six emotion prototypes of the ICT face model. It shows the pipeline end to end; it has never seen a
real scan. The full training recipe (accelerate, folds, augmentation) is `scripts/train.py`'s job.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
from tqdm.auto import tqdm

import affectvlm
from affectvlm.data.synthetic import synthesize_face
from affectvlm.model.configuration_affectvlm import BASIC_EMOTIONS

EMOTIONS = list(BASIC_EMOTIONS)


def starter_config() -> affectvlm.AffectVLMConfig:
    tower = {"hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2, "num_attention_heads": 4}
    return affectvlm.AffectVLMConfig(
        vision_config={**tower, "image_size": 64, "patch_size": 8},
        text_config={**tower, "hidden_size": 32, "intermediate_size": 64, "num_attention_heads": 2},
        projection_dim=64,
    )


def render_split(processor, subjects: range, intensities: tuple[int, ...]) -> tuple[torch.Tensor, list[str]]:
    faces = [(s, e, i) for s in subjects for e in EMOTIONS for i in intensities]
    pixels = [processor(meshes=synthesize_face(s, e, i))["pixel_values"] for s, e, i in tqdm(faces, desc="render")]
    return torch.cat(pixels), [e for _, e, _ in faces]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default="affectvlm/assets/default_model", help="output folder")
    parser.add_argument("--train-subjects", type=int, default=24, help="subjects 0..N-1 train")
    parser.add_argument("--test-subjects", type=int, default=8, help="subjects 1000.. are held out")
    parser.add_argument("--steps", type=int, default=600)
    parser.add_argument("--batch-size", type=int, default=48)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--warmup", type=int, default=60)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    torch.manual_seed(args.seed)
    config = starter_config()
    processor = affectvlm.build_processor(config)
    model = affectvlm.AffectVLMModel(config)
    model.set_class_prompts(**processor.class_prompt_inputs())
    train_pixels, train_labels = render_split(processor, range(args.train_subjects), (2, 3, 4))
    test_pixels, test_labels = render_split(processor, range(1000, 1000 + args.test_subjects), (3, 4))

    optimizer = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.05)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / args.warmup))
    generator = torch.Generator().manual_seed(args.seed)
    started = time.perf_counter()
    model.train()
    progress = tqdm(range(args.steps), desc="train")
    for step in progress:
        index = torch.randperm(len(train_labels), generator=generator)[: args.batch_size]
        labels = [train_labels[i] for i in index]
        loss = model(pixel_values=train_pixels[index], **processor(labels=labels, prompt_seed=step)).loss
        optimizer.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        schedule.step()
        progress.set_postfix(loss=f"{loss.item():.3f}")
    model.eval()
    with torch.no_grad():
        predictions = model(pixel_values=test_pixels).logits.argmax(dim=-1).tolist()
    accuracy = sum(config.emotion_labels[p] == t for p, t in zip(predictions, test_labels)) / len(test_labels)
    results = {
        "held_out_accuracy": round(accuracy, 4),
        "held_out_faces": len(test_labels),
        "train_faces": len(train_labels),
        "steps": args.steps,
        "train_seconds": round(time.perf_counter() - started, 1),
    }
    out = Path(args.out)
    model.save_pretrained(out)
    processor.save_pretrained(out)
    (out / "starter_results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
