"""The whole stack learns: a tiny random model overfits a handful of rendered synthetic faces."""

import torch

from affectvlm.model.configuration_affectvlm import BASIC_EMOTIONS
from affectvlm.synthetic import synthesize_face
from conftest import tiny_model_and_processor

EMOTIONS = list(BASIC_EMOTIONS)
STEPS, WARMUP = 300, 60


def test_tiny_model_overfits_rendered_faces_with_the_paper_losses():
    model, processor = tiny_model_and_processor(seed=0)  # default terms: contrastive + triplet + InfoNCE
    faces = [synthesize_face(subject, emotion) for subject in (1, 2) for emotion in EMOTIONS]
    labels = [face.metadata["emotion"] for face in faces]
    pixels = processor(meshes=faces)["pixel_values"]  # render once, as a cached dataset would
    # Without warm-up, InfoNCE drives a random text tower to one point within ~20 steps (the loss sits at
    # log N), which also removes every gradient that could separate the classes; CLIP trains with warm-up.
    optimizer = torch.optim.AdamW(model.parameters(), lr=5e-4)
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / WARMUP))
    model.train()
    losses = []
    for step in range(STEPS):
        prompts = processor(labels=labels, prompt_seed=step)  # fresh augmented prompts every step
        loss = model(pixel_values=pixels, **prompts).loss
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        losses.append(loss.item())
    model.eval()
    with torch.no_grad():
        predictions = model(pixel_values=pixels).logits.argmax(dim=-1)
    first, last = sum(losses[:10]) / 10, sum(losses[-10:]) / 10
    assert last < 0.5 * first, (first, last)
    assert predictions.tolist() == [model.config.label2id[label] for label in labels]
