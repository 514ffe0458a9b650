"""The encrypted local file store and the streaming clean-up of uploads (M-05, M-07, M-08, D-01)."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from PIL import Image

from backend.security.crypto import FieldCipher
from backend.storage import FileNotStored, LocalFileStore, StorageError
from backend.storage.sanitize import FileRejected, sanitizer_for
from backend.storage.sniff import FileKind, sniff
from tests.backend.storage import images


def _store(tmp_path: Path, cipher: FieldCipher) -> LocalFileStore:
    return LocalFileStore(tmp_path / "files", cipher)


def _clean(data: bytes, chunk: int = 4096, kind: FileKind | None = None) -> bytes:
    kind = kind or sniff(data)
    assert kind is not None
    s = sanitizer_for(kind)
    out = b"".join(s.feed(data[i : i + chunk]) for i in range(0, len(data), chunk))
    return out + s.close()


@pytest.mark.parametrize("size", [0, 1, 65535, 65536, 65537, 200_001])
def test_round_trip_at_segment_boundaries(tmp_path: Path, cipher: FieldCipher, size: int) -> None:
    store = _store(tmp_path, cipher)
    data = bytes(range(256)) * (size // 256) + bytes(size % 256)
    w = store.writer(namespace="claims")
    for i in range(0, size, 10_000):
        w.write(data[i : i + 10_000])
    stored = w.commit()
    assert stored.size == size and store.exists(stored.key)
    assert b"".join(store.open(stored.key)) == data


def test_d01_file_bytes_are_encrypted_at_rest(tmp_path: Path, cipher: FieldCipher) -> None:
    store = _store(tmp_path, cipher)
    secret = b"440514195301011234 medical record of Chen " * 1000
    w = store.writer(namespace="claims")
    w.write(secret)
    key = w.commit().key
    raw = store.path_of(key).read_bytes()
    assert b"440514195301011234" not in raw and b"medical" not in raw
    assert store.path_of(key).is_relative_to(tmp_path / "files")


def test_keys_are_random_and_checked(tmp_path: Path, cipher: FieldCipher) -> None:
    store = _store(tmp_path, cipher)
    keys = set()
    for _ in range(50):
        w = store.writer(namespace="claims")
        keys.add(w.key)
        w.abort()
    assert len(keys) == 50
    for bad in ("../etc/passwd", "claims/../../x", "claims/short", "", "Claims/" + "a" * 32):
        with pytest.raises(FileNotStored):
            store.open(bad)


def test_uncommitted_and_aborted_files_are_invisible(tmp_path: Path, cipher: FieldCipher) -> None:
    store = _store(tmp_path, cipher)
    w = store.writer(namespace="claims")
    w.write(b"x" * 100_000)
    assert not store.exists(w.key)
    w.abort()
    assert not store.exists(w.key)
    assert list((tmp_path / "files").rglob("*")) == [p for p in (tmp_path / "files").rglob("*") if p.is_dir()]


@pytest.mark.parametrize("damage", ["flip", "truncate", "swap"])
def test_tampered_files_do_not_read(tmp_path: Path, cipher: FieldCipher, damage: str) -> None:
    store = _store(tmp_path, cipher)
    keys = []
    for _ in range(2):
        w = store.writer(namespace="claims")
        w.write(b"A" * 150_000)
        keys.append(w.commit().key)
    path = store.path_of(keys[0])
    raw = bytearray(path.read_bytes())
    if damage == "flip":
        raw[-40] ^= 1
        path.write_bytes(bytes(raw))
    elif damage == "truncate":  # drop the last segment entirely
        path.write_bytes(bytes(raw[: len(raw) - (150_000 - 2 * 65536) - 20]))
    else:  # another file's bytes under this key
        path.write_bytes(store.path_of(keys[1]).read_bytes())
    with pytest.raises(StorageError):
        b"".join(store.open(keys[0]))


def test_a_file_written_under_another_keyring_does_not_read(tmp_path: Path, cipher: FieldCipher) -> None:
    other = FieldCipher.from_config(
        keys_json='{"k9": "b3RoZXIta2V5LW90aGVyLWtleS1vdGhlci1rZXktMzI="}',
        active_key_id="k9",
        blind_index_key="another-index-key-0123",
    )
    w = _store(tmp_path, other).writer(namespace="claims")
    w.write(b"hello")
    key = w.commit().key
    with pytest.raises(StorageError):
        b"".join(_store(tmp_path, cipher).open(key))


# --- M-05: kinds by content ------------------------------------------------------------------------
def test_m05_sniffing_ignores_names_and_refuses_other_types() -> None:
    assert sniff(images.jpeg()) is FileKind.JPEG
    assert sniff(images.png()) is FileKind.PNG
    assert sniff(images.minimal_pdf()) is FileKind.PDF
    for other in (
        b"<svg xmlns='http://www.w3.org/2000/svg'>",
        b"<html><script>",
        b"GIF89a....",
        b"PK\x03\x04zip",
        b"RIFF....WEBP",
        b" %PDF-1.4",
        b"",
        b"\xff\xd8",
    ):
        assert sniff(other) is None


def test_m05_polyglot_tail_after_the_image_is_dropped() -> None:
    html = b"<html><script>alert(1)</script></html>"
    for data in (images.jpeg() + html, images.png() + html):
        out = _clean(data)
        assert html not in out and b"<script" not in out
        Image.open(io.BytesIO(out)).load()


# --- M-07: image bombs and metadata ------------------------------------------------------------------
@pytest.mark.parametrize("make", [images.jpeg_header_only, images.png_header_only])
def test_m07_image_bomb_is_refused_from_its_header(make) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(FileRejected) as err:
        _clean(make(10_000, 10_000))
    assert err.value.code == "image_too_large"
    _clean(make(6000, 6000))  # 36 MP: a big phone photo passes


@pytest.mark.parametrize("chunk", [1, 3, 4096, 1 << 20])
def test_m07_exif_gps_and_comments_are_stripped_orientation_kept(chunk: int) -> None:
    out = _clean(images.jpeg(), chunk)
    assert images.GPS_MAKER.encode() not in out and b"secret comment" not in out
    img = Image.open(io.BytesIO(out))
    img.load()
    exif = img.getexif()
    assert dict(exif) == {0x0112: 6} and exif.get_ifd(0x8825) == {}


def test_m07_png_text_and_exif_are_stripped() -> None:
    out = _clean(images.png(), 7)
    assert images.GPS_MAKER.encode() not in out
    img = Image.open(io.BytesIO(out))
    img.load()
    assert img.info == {} and img.size == (40, 30)


def test_m07_progressive_and_noisy_pictures_keep_every_pixel() -> None:
    for data in (images.jpeg(300, 200, noise=True, progressive=True), images.jpeg(300, 200, noise=True)):
        before = Image.open(io.BytesIO(data)).tobytes()
        after = Image.open(io.BytesIO(_clean(data, 999))).tobytes()
        assert before == after  # lossless: the coded data is copied, never re-encoded


@pytest.mark.parametrize("keep", [0.02, 0.5, 0.98])
def test_m07_truncated_or_corrupt_pictures_are_refused(keep: float) -> None:
    for data, kind in ((images.jpeg(), FileKind.JPEG), (images.png(), FileKind.PNG)):
        with pytest.raises(FileRejected):
            _clean(data[: int(len(data) * keep)], kind=kind)
    bad = bytearray(images.png())
    bad[40] ^= 0xFF  # inside a chunk: its CRC no longer matches
    with pytest.raises(FileRejected):
        _clean(bytes(bad))


# --- M-08: PDFs are scanned as bytes, never parsed ----------------------------------------------------
@pytest.mark.parametrize(
    ("extra", "code"),
    [
        (b"/OpenAction << /S /JavaScript /JS (app.alert(1)) >>", "pdf_javascript"),
        (b"/Names << /EmbeddedFiles 3 0 R >>", "pdf_embedded_file"),
        (b"/OpenAction << /S /J#61vaScript >>", "pdf_javascript"),
        (b"/AA << /O << /S /Launch /F (cmd.exe) >> >>", "pdf_launch"),
    ],
)
def test_m08_pdf_with_active_content_is_refused(extra: bytes, code: str) -> None:
    with pytest.raises(FileRejected) as err:
        _clean(images.minimal_pdf(extra), 5)
    assert err.value.code == code


def test_m08_plain_pdf_is_kept_byte_for_byte() -> None:
    data = images.minimal_pdf()
    assert _clean(data, 3) == data
