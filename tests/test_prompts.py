import random

from affectvlm.model.prompts_affectvlm import (
    DEFAULT_CLASS_TEMPLATES,
    EMOTION_WORDS,
    augmented_prompt,
    class_prompts,
    training_prompts,
)

LABELS = ["anger", "disgust", "fear", "happiness", "sadness", "surprise"] * 5


def test_augmented_prompts_are_deterministic_under_a_seed_and_vary_across_seeds():
    first = training_prompts(LABELS, seed=7)
    assert first == training_prompts(LABELS, seed=7)
    assert first != training_prompts(LABELS, seed=8)
    assert len(set(first)) > len(LABELS) // 2  # varied, not one sentence per class


def test_each_prompt_names_its_emotion_with_a_word_of_that_emotion():
    for label, prompt in zip(LABELS, training_prompts(LABELS, seed=1)):
        words = EMOTION_WORDS[label]["adjective"] + EMOTION_WORDS[label]["noun"]
        assert any(word in prompt for word in words), prompt


def test_metadata_enters_the_sentence_and_unknown_metadata_is_left_out():
    rng = random.Random(0)
    young_women = [augmented_prompt("happiness", {"age_group": "young", "gender": "female"}, rng) for _ in range(40)]
    assert all("young" in prompt for prompt in young_women)
    assert all(("female" in prompt) or ("woman" in prompt) for prompt in young_women)
    missing = [{"age_group": None, "gender": None, "ethnicity": None, "intensity": None}, {}, None,
               {"gender": "unknown", "ethnicity": "None"}]
    for meta in missing:
        for _ in range(20):
            prompt = augmented_prompt("fear", meta, rng)
            assert "None" not in prompt and "none" not in prompt and "unknown" not in prompt, prompt


def test_intensity_adds_an_adverb_in_some_prompts():
    rng = random.Random(3)
    prompts = [augmented_prompt("sadness", {"intensity": 4}, rng) for _ in range(60)]
    assert any("intensely" in prompt for prompt in prompts)
    assert any("intensely" not in prompt for prompt in prompts)


def test_articles_agree_with_the_next_word():
    rng = random.Random(5)
    for _ in range(200):
        prompt = augmented_prompt("anger", {"age_group": "older", "gender": "male"}, rng)
        assert "a older" not in prompt and "a angry" not in prompt and "an furious" not in prompt, prompt


def test_class_prompts_are_label_major_and_unknown_labels_stand_for_themselves():
    prompts = class_prompts(["happiness", "contempt"], DEFAULT_CLASS_TEMPLATES)
    assert len(prompts) == 2 * len(DEFAULT_CLASS_TEMPLATES)
    assert all("happ" in p for p in prompts[: len(DEFAULT_CLASS_TEMPLATES)])
    assert all("contempt" in p for p in prompts[len(DEFAULT_CLASS_TEMPLATES):])


def test_fixed_prompts_use_the_first_class_template():
    assert training_prompts(["surprise", "fear"], augment=False) == [
        "a face showing surprise.", "a face showing fear."]
