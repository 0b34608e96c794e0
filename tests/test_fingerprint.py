"""Near-duplicate fingerprints (MinHash + LSH bands) and the campaign grouping that the job and the bench share."""

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from datasketch import MinHash

from consult.text import fingerprint as fp

ROOT = Path(__file__).resolve().parent.parent

LETTER = (
    "Kính gửi Ban soạn thảo. Tôi đề nghị giữ nguyên quy định về thời hạn cấp giấy phép xây dựng nhà ở riêng lẻ "
    "là mười lăm ngày làm việc, vì rút ngắn thời hạn này sẽ khiến cơ quan cấp phép không đủ thời gian thẩm định "
    "hồ sơ, dẫn đến sai sót và khiếu nại kéo dài. Đồng thời, đề nghị bổ sung quy định cho phép nộp hồ sơ trực "
    "tuyến trên Cổng dịch vụ công quốc gia và trả kết quả qua bưu điện để người dân không phải đi lại nhiều lần. "
    "Xin trân trọng cảm ơn Ban soạn thảo đã lắng nghe ý kiến của người dân."
)
OTHER = (
    "Về dự thảo luật đất đai sửa đổi, tôi thấy việc định giá đất theo giá thị trường là hợp lý nhưng cần có hội "
    "đồng thẩm định độc lập ở cấp tỉnh, công khai phương pháp tính và cho người sử dụng đất quyền khiếu nại trong "
    "ba mươi ngày. Ngoài ra nên có chính sách hỗ trợ tái định cư cho hộ gia đình bị thu hồi đất nông nghiệp."
)


def one_word_changed(text: str) -> str:
    return text.replace("mười lăm", "hai mươi", 1)


# --- shingles -----------------------------------------------------------------------------------------------------

def test_normalisation_ignores_case_diacritics_punctuation_and_invisible_characters():
    assert fp.normalize("Đà  Nẵng, THÀNH PHỐ!!! (số 1)") == "da nang thanh pho so 1"
    assert fp.normalize("ab\u200bc\u00add") == "abcd"
    assert fp.normalize("Tôi đồng ý") == fp.normalize("toi dong y") == fp.normalize("TÔI   ĐỒNG-Ý")
    assert fp.normalize("Cafe\u0301") == fp.normalize("Café") == "cafe"  # NFD or NFC alike


def test_word_shingles():
    assert fp.shingles("Một hai ba bốn năm") == {b"mot hai ba", b"hai ba bon", b"ba bon nam"}
    assert fp.SHINGLE_WORDS == 3


def test_short_texts_fall_back_to_character_shingles():
    assert fp.shingles("Xin chào") == {b"xin c", b"in ch", b"n cha", b" chao"}
    assert fp.shingles("ok") == {b"ok"}
    assert fp.shingles("") == set()
    assert fp.shingles("!!! ...") == set()


def test_a_copy_without_diacritics_has_the_same_fingerprint():
    stripped = fp.normalize(LETTER)
    assert fp.shingles(stripped) == fp.shingles(LETTER)
    assert np.array_equal(fp.signature(stripped), fp.signature(LETTER))


def test_token_count_and_min_tokens():
    assert fp.token_count("Tôi đồng ý với dự thảo này.") == 7
    assert fp.fingerprint("Tôi đồng ý với dự thảo này.") is None
    assert not fp.fingerprintable("Tôi đồng ý với dự thảo này.")
    assert fp.fingerprintable(LETTER)
    assert np.array_equal(fp.fingerprint(LETTER), fp.signature(LETTER))


# --- signatures ---------------------------------------------------------------------------------------------------

def test_signature_shape_and_type():
    sig = fp.signature(LETTER)
    assert sig.dtype == np.uint64
    assert sig.shape == (fp.NUM_PERM,)
    assert int(sig.max()) < 2**32


def test_signature_is_deterministic():
    assert np.array_equal(fp.signature(LETTER), fp.signature(LETTER))
    assert fp.band_keys(fp.signature(LETTER)) == fp.band_keys(fp.signature(LETTER))


def test_signature_is_the_same_in_another_process():
    """No dependence on Python's per-process string hashing: stored signatures stay valid after a restart."""
    code = ("from consult.text import fingerprint as fp; import sys; "
            "sys.stdout.write(fp.to_bytes(fp.signature(sys.argv[1])).hex() + ' ' + str(fp.band_keys(fp.signature(sys.argv[1]))))")
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code, LETTER], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    sig_hex, keys = out.stdout.split(" ", 1)
    assert sig_hex == fp.to_bytes(fp.signature(LETTER)).hex()
    assert keys == str(fp.band_keys(fp.signature(LETTER)))


@pytest.mark.parametrize("text", [LETTER, OTHER, "Xin chào", "", "một hai ba bốn năm sáu bảy tám chín mười " * 30])
def test_signature_equals_datasketch(text):
    """The vectorised signature is exactly datasketch's MinHash of the same shingles with the same permutations."""
    reference = MinHash(num_perm=fp.NUM_PERM, seed=fp.SEED, hashfunc=fp.shingle_hash)
    reference.update_batch(fp.shingles(text))
    assert np.array_equal(reference.hashvalues.astype(np.uint64), fp.signature(text))
    assert np.array_equal(fp.signature_of_shingles(fp.shingles(text)), fp.signature(text))


def test_similarity_estimates_jaccard():
    a, b = fp.shingles(LETTER), fp.shingles(one_word_changed(LETTER))
    exact = len(a & b) / len(a | b)
    estimate = fp.similarity(fp.signature(LETTER), fp.signature(one_word_changed(LETTER)))
    assert abs(estimate - exact) < 0.15
    assert fp.similarity(fp.signature(LETTER), fp.signature(LETTER)) == 1.0


# --- near duplicates ----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("copy", [
    one_word_changed(LETTER),
    "Tôi là Nguyễn Văn An, sống tại Hà Nội. " + LETTER,
    LETTER + " Tôi mong dự thảo sớm được thông qua.",
    LETTER.upper(),
    fp.normalize(LETTER),
    LETTER.replace(". ", ".\n\n"),
])
def test_a_form_letter_and_its_copy_are_grouped(copy):
    a, b = fp.signature(LETTER), fp.signature(copy)
    assert fp.similarity(a, b) >= fp.THRESHOLD
    assert set(fp.band_keys(a)) & set(fp.band_keys(b))


def test_unrelated_texts_are_not_grouped():
    a, b = fp.signature(LETTER), fp.signature(OTHER)
    assert fp.similarity(a, b) < 0.2
    assert not set(fp.band_keys(a)) & set(fp.band_keys(b))


# --- band keys ----------------------------------------------------------------------------------------------------

def test_band_keys_are_signed_64_bit_integers():
    keys = fp.band_keys(fp.signature(LETTER))
    assert len(keys) == fp.BANDS
    assert all(isinstance(k, int) and -2**63 <= k < 2**63 for k in keys)
    assert len(set(keys)) == fp.BANDS


def test_band_keys_depend_on_the_band_index():
    """Two bands holding the same values must not share a key (the band index is hashed in)."""
    sig = np.full(fp.NUM_PERM, 7, dtype=np.uint64)
    assert len(set(fp.band_keys(sig))) == fp.BANDS


def test_band_keys_reject_a_wrong_signature():
    with pytest.raises(ValueError):
        fp.band_keys(np.zeros(fp.NUM_PERM - 1, dtype=np.uint64))


def test_constants():
    assert fp.BANDS * fp.ROWS == fp.NUM_PERM
    assert 0 < fp.THRESHOLD < 1
    assert fp.MIN_TOKENS >= fp.SHINGLE_WORDS
    # The S-curve: at the threshold two comments share a band with probability of at least 85%.
    assert 1 - (1 - fp.THRESHOLD ** fp.ROWS) ** fp.BANDS > 0.85


# --- storage ------------------------------------------------------------------------------------------------------

def test_bytes_round_trip():
    sig = fp.signature(LETTER)
    data = fp.to_bytes(sig)
    assert isinstance(data, bytes) and len(data) == 4 * fp.NUM_PERM
    back = fp.from_bytes(data)
    assert back.dtype == np.uint64
    assert np.array_equal(back, sig)
    assert fp.band_keys(back) == fp.band_keys(sig)
    assert fp.from_bytes(memoryview(data)).tolist() == sig.tolist()


def test_empty_text_signature_round_trips():
    sig = fp.signature("")
    assert np.array_equal(fp.from_bytes(fp.to_bytes(sig)), sig)


@pytest.mark.parametrize("bad", [b"", b"\x00" * (4 * fp.NUM_PERM - 1), b"\x00" * (8 * fp.NUM_PERM)])
def test_from_bytes_rejects_a_wrong_length(bad):
    with pytest.raises(ValueError):
        fp.from_bytes(bad)


def test_to_bytes_rejects_a_wrong_signature():
    with pytest.raises(ValueError):
        fp.to_bytes(np.zeros(3, dtype=np.uint64))
    with pytest.raises(ValueError):
        fp.to_bytes(np.full(fp.NUM_PERM, 2**40, dtype=np.uint64))


# --- grouping -----------------------------------------------------------------------------------------------------

def test_choose_group():
    letter, copy, other = fp.signature(LETTER), fp.signature(one_word_changed(LETTER)), fp.signature(OTHER)
    assert fp.choose_group(letter, [], []) == (None, [])
    assert fp.choose_group(letter, [3], [other]) == (None, [])
    assert fp.choose_group(letter, [3, 9], [other, copy]) == (9, [])
    # A comment matching two groups joins the oldest, and the other is merged into it.
    assert fp.choose_group(letter, [9, 4, 3], [copy, letter, other]) == (4, [9])
    assert fp.choose_group(letter, [9, 4], np.stack([copy, letter])) == (4, [9])


def test_grouping_as_the_job_does_it():
    from bench.evaluate_campaigns import Grouping

    grouping = Grouping()
    texts = [LETTER, OTHER, one_word_changed(LETTER), "Tôi đồng ý.", "Tôi là Bình. " + LETTER, OTHER + " Cảm ơn."]
    for text in texts:
        grouping.add(text)
    assert grouping.group_of == [0, 1, 0, 3, 0, 1]
    assert grouping.fingerprinted == 5


def test_pair_measures_and_adjusted_rand_index():
    from bench.evaluate_campaigns import adjusted_rand_index, pair_counts

    counts = pair_counts([0, 0, 1, 2], ["a", "a", "b", "b"])
    assert (counts.same_both, counts.same_predicted, counts.same_true, counts.total) == (1, 1, 2, 6)
    assert counts.precision == 1.0 and counts.recall == 0.5
    assert counts.ari == pytest.approx(0.5714285714285715)  # sklearn.metrics.adjusted_rand_score gives the same
    assert adjusted_rand_index([1, 1, 2, 2], ["x", "x", "y", "y"]) == 1.0
    assert adjusted_rand_index([0, 1, 2, 3], [0, 0, 0, 0]) == 0.0
    assert adjusted_rand_index([0, 0, 1, 1, 2, 2], [0, 0, 0, 1, 1, 1]) == pytest.approx(0.24242424242424246)


def test_synthetic_campaigns_are_found():
    from bench.evaluate_campaigns import group, pair_counts, synthetic

    texts, labels = synthetic(600, seed=3)
    counts = pair_counts(group(texts).group_of, labels)
    assert counts.precision > 0.99 and counts.recall > 0.95


def test_evaluation_without_data_says_so(tmp_path, capsys):
    from bench.evaluate_campaigns import main

    assert main(["--data", str(tmp_path / "absent")]) == 2
    assert "no data" in capsys.readouterr().err


# --- speed --------------------------------------------------------------------------------------------------------

def test_signature_of_a_long_comment_is_fast():
    text = (LETTER + " " + OTHER + " ") * 3
    text = text[:2000]
    fp.signature(text)
    started = time.perf_counter()
    for _ in range(50):
        fp.band_keys(fp.signature(text))
    assert (time.perf_counter() - started) / 50 < 0.005  # about 0.2 ms on an idle core; loose for busy machines
