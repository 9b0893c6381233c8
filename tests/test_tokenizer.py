from affectvlm import clip_tokenizer


def test_it_is_clips_real_vocabulary():
    tokenizer = clip_tokenizer()
    assert len(tokenizer) == 49408
    # the ids OpenAI CLIP gives this sentence
    assert tokenizer("a photo of a cat")["input_ids"] == [49406, 320, 1125, 539, 320, 2368, 49407]
    assert tokenizer.model_max_length == 77


def test_it_lowercases_and_round_trips_text():
    tokenizer = clip_tokenizer()
    ids = tokenizer("An older MAN looking disgusted.")["input_ids"]
    assert tokenizer.decode(ids, skip_special_tokens=True).strip() == "an older man looking disgusted ."


def test_save_and_reload_keeps_the_ids(tmp_path):
    from transformers import AutoTokenizer

    clip_tokenizer().save_pretrained(tmp_path)
    assert AutoTokenizer.from_pretrained(tmp_path)("joyful")["input_ids"] == clip_tokenizer()("joyful")["input_ids"]
