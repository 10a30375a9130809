//! Image variants: parameters (bounded by configuration), and the CPU work of decoding,
//! orienting, resizing and encoding, done on a blocking thread under the caller's permit.
//!
//! Decoding is bounded before any pixel is allocated: the dimensions in the header are checked
//! against `max_side` and `max_pixels`, and the decoder gets an allocation limit, so a
//! decompression bomb (a few bytes claiming 100,000 × 100,000 pixels) is refused; a truncated
//! or malformed file is an error, never a panic. Variants are re-encoded from pixels, so no
//! metadata (EXIF, GPS) survives; the EXIF orientation is applied first.

use std::io::Cursor;

use fast_image_resize::images::Image;
use fast_image_resize::{IntoImageView, ResizeOptions, Resizer};
use image::{DynamicImage, ImageDecoder, ImageReader};

use crate::config::MediaConfig;
use crate::error::FieldError;

/// How the image fits the asked box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fit {
    /// Fill the box, cropping the overflow (centered).
    Cover,
    /// Fit inside the box, keeping proportions (the box is a bound, the image may be smaller
    /// on one side).
    Contain,
    /// Like `contain`, but never enlarges.
    Inside,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Webp,
    Jpeg,
    Png,
}

impl Format {
    pub fn mime(self) -> &'static str {
        match self {
            Format::Webp => "image/webp",
            Format::Jpeg => "image/jpeg",
            Format::Png => "image/png",
        }
    }
    fn name(self) -> &'static str {
        match self {
            Format::Webp => "webp",
            Format::Jpeg => "jpeg",
            Format::Png => "png",
        }
    }
}

/// Checked transform parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Params {
    pub width: Option<u32>,
    pub height: Option<u32>,
    pub fit: Fit,
    pub format: Format,
    pub quality: u8,
}

/// Transform parameters as they arrive (query string or GraphQL arguments).
#[derive(Debug, Clone, Default, serde::Deserialize)]
pub struct RawParams {
    pub w: Option<u32>,
    pub h: Option<u32>,
    pub fit: Option<String>,
    /// `webp`, `jpeg`, `png` or `auto` (from the client's `Accept`).
    pub format: Option<String>,
    pub q: Option<u8>,
}

impl RawParams {
    pub fn is_empty(&self) -> bool {
        self.w.is_none()
            && self.h.is_none()
            && self.fit.is_none()
            && self.format.is_none()
            && self.q.is_none()
    }

    /// Checks the parameters against the configured bounds; `accept` is the request's
    /// `Accept` header (for `format=auto`), `source` the original's MIME type.
    pub fn check(
        &self,
        config: &MediaConfig,
        accept: Option<&str>,
        source: &str,
    ) -> Result<Params, Vec<FieldError>> {
        let mut errors = Vec::new();
        let side = |name: &str, v: Option<u32>, errors: &mut Vec<FieldError>| match v {
            Some(0) => {
                errors.push(FieldError::new(name, "min", "must be at least 1"));
                None
            }
            Some(n) if n > config.max_transform_side => {
                errors.push(FieldError::new(
                    name,
                    "max",
                    format!("at most {} pixels", config.max_transform_side),
                ));
                None
            }
            other => other,
        };
        let width = side("w", self.w, &mut errors);
        let height = side("h", self.h, &mut errors);
        if let Some(w) = width
            && !config.widths.is_empty()
            && !config.widths.contains(&w)
        {
            errors.push(FieldError::new(
                "w",
                "oneOf",
                format!("one of {:?}", config.widths),
            ));
        }
        let fit = match self.fit.as_deref() {
            None | Some("inside") => Fit::Inside,
            Some("cover") => Fit::Cover,
            Some("contain") => Fit::Contain,
            Some(_) => {
                errors.push(FieldError::new("fit", "oneOf", "cover, contain or inside"));
                Fit::Inside
            }
        };
        let format = match self.format.as_deref() {
            Some("webp") => Format::Webp,
            Some("jpeg" | "jpg") => Format::Jpeg,
            Some("png") => Format::Png,
            Some("auto") => {
                if accept.is_some_and(|a| a.contains("image/webp")) {
                    Format::Webp
                } else {
                    same_format(source)
                }
            }
            None => same_format(source),
            Some(_) => {
                errors.push(FieldError::new(
                    "format",
                    "oneOf",
                    "webp, jpeg, png or auto",
                ));
                Format::Jpeg
            }
        };
        let quality = match self.q {
            None => config.quality.clamp(1, 100),
            Some(q @ 1..=100) => q,
            Some(_) => {
                errors.push(FieldError::new("q", "range", "1 to 100"));
                config.quality
            }
        };
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(Params {
            width,
            height,
            fit,
            format,
            quality,
        })
    }
}

fn same_format(source: &str) -> Format {
    match source {
        "image/png" | "image/gif" => Format::Png,
        "image/webp" => Format::Webp,
        _ => Format::Jpeg,
    }
}

impl Params {
    /// The canonical form, which names the stored variant.
    pub fn canonical(&self) -> String {
        format!(
            "w={},h={},fit={},f={},q={}",
            self.width.unwrap_or(0),
            self.height.unwrap_or(0),
            match self.fit {
                Fit::Cover => "cover",
                Fit::Contain => "contain",
                Fit::Inside => "inside",
            },
            self.format.name(),
            self.quality
        )
    }

    /// The query string that asks for this variant.
    pub fn query(&self) -> String {
        self.query_as(self.format.name())
    }

    /// The query string with `format` given by name (`auto` leaves it to the client's `Accept`).
    pub fn query_as(&self, format: &str) -> String {
        let mut parts = Vec::new();
        if let Some(w) = self.width {
            parts.push(format!("w={w}"));
        }
        if let Some(h) = self.height {
            parts.push(format!("h={h}"));
        }
        parts.push(format!(
            "fit={}",
            match self.fit {
                Fit::Cover => "cover",
                Fit::Contain => "contain",
                Fit::Inside => "inside",
            }
        ));
        parts.push(format!("format={format}"));
        parts.push(format!("q={}", self.quality));
        parts.join("&")
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TransformError {
    #[error(
        "the image is {width}×{height}; at most {max_side} pixels a side and {max_pixels} pixels are decoded"
    )]
    TooLarge {
        width: u32,
        height: u32,
        max_side: u32,
        max_pixels: u64,
    },
    #[error("the image cannot be decoded: {0}")]
    Undecodable(String),
    #[error("the variant cannot be encoded: {0}")]
    Encode(String),
}

/// Reads the dimensions from the header only, refusing what is over the bounds.
pub fn dimensions(bytes: &[u8], config: &MediaConfig) -> Result<(u32, u32), TransformError> {
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| TransformError::Undecodable(e.to_string()))?;
    let (width, height) = reader
        .into_dimensions()
        .map_err(|e| TransformError::Undecodable(e.to_string()))?;
    check_bounds(width, height, config)?;
    Ok((width, height))
}

fn check_bounds(width: u32, height: u32, config: &MediaConfig) -> Result<(), TransformError> {
    if width > config.max_side
        || height > config.max_side
        || u64::from(width) * u64::from(height) > config.max_pixels
    {
        return Err(TransformError::TooLarge {
            width,
            height,
            max_side: config.max_side,
            max_pixels: config.max_pixels,
        });
    }
    Ok(())
}

/// Decodes, orients, resizes and encodes. CPU-bound: call it on a blocking thread.
pub fn render(
    bytes: &[u8],
    params: &Params,
    config: &MediaConfig,
) -> Result<Vec<u8>, TransformError> {
    dimensions(bytes, config)?;
    let img = match decode_jpeg_scaled(bytes, params, config)? {
        Some(img) => img,
        None => decode(bytes, config)?,
    };
    resize_and_encode(img, params)
}

/// Decodes any supported format at full size, oriented.
fn decode(bytes: &[u8], config: &MediaConfig) -> Result<DynamicImage, TransformError> {
    let undecodable = |e: image::ImageError| TransformError::Undecodable(e.to_string());
    let mut reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| TransformError::Undecodable(e.to_string()))?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(config.max_side);
    limits.max_image_height = Some(config.max_side);
    // Room for the decoded pixels (at most 8 bytes each, 16-bit RGBA) and the decoder's own.
    limits.max_alloc = Some(config.max_pixels.saturating_mul(8).saturating_add(64 << 20));
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(undecodable)?;
    let orientation = decoder.orientation().map_err(undecodable)?;
    let mut img = DynamicImage::from_decoder(decoder).map_err(undecodable)?;
    img.apply_orientation(orientation);
    Ok(img)
}

/// A JPEG decoded straight at a fraction of its size (1/2, 1/4 or 1/8, done in the inverse
/// DCT, several times faster than decoding every pixel and throwing most away), when the
/// variant is at most that large; `None` for other formats and pixel layouts.
fn decode_jpeg_scaled(
    bytes: &[u8],
    params: &Params,
    config: &MediaConfig,
) -> Result<Option<DynamicImage>, TransformError> {
    if !bytes.starts_with(&[0xFF, 0xD8]) {
        return Ok(None);
    }
    let bad = |e: jpeg_decoder::Error| TransformError::Undecodable(e.to_string());
    let mut decoder = jpeg_decoder::Decoder::new(Cursor::new(bytes));
    decoder.set_max_decoding_buffer_size(
        usize::try_from(config.max_pixels.saturating_mul(4)).unwrap_or(usize::MAX),
    );
    decoder.read_info().map_err(bad)?;
    let Some(info) = decoder.info() else {
        return Ok(None);
    };
    if !matches!(
        info.pixel_format,
        jpeg_decoder::PixelFormat::RGB24 | jpeg_decoder::PixelFormat::L8
    ) {
        return Ok(None);
    }
    let (sw, sh) = (u32::from(info.width), u32::from(info.height));
    check_bounds(sw, sh, config)?;
    let orientation = decoder
        .exif_data()
        .and_then(image::metadata::Orientation::from_exif_chunk)
        .unwrap_or(image::metadata::Orientation::NoTransforms);
    let swaps = matches!(
        orientation,
        image::metadata::Orientation::Rotate90
            | image::metadata::Orientation::Rotate270
            | image::metadata::Orientation::Rotate90FlipH
            | image::metadata::Orientation::Rotate270FlipH
    );
    let (ow, oh) = if swaps { (sh, sw) } else { (sw, sh) };
    // The size the whole (oriented) image is scaled to before any crop.
    let (fw, fh) = match (params.width, params.height, params.fit) {
        (Some(w), Some(h), Fit::Cover) => {
            let s = (f64::from(w) / f64::from(ow)).max(f64::from(h) / f64::from(oh));
            (
                (f64::from(ow) * s).ceil() as u32,
                (f64::from(oh) * s).ceil() as u32,
            )
        }
        _ => target_size(ow, oh, params),
    };
    let factor = [8u32, 4, 2]
        .into_iter()
        .find(|f| ow / f >= fw && oh / f >= fh)
        .unwrap_or(1);
    if factor > 1 {
        let w = u16::try_from(sw.div_ceil(factor)).unwrap_or(u16::MAX);
        let h = u16::try_from(sh.div_ceil(factor)).unwrap_or(u16::MAX);
        decoder.scale(w, h).map_err(bad)?;
    }
    let pixels = decoder.decode().map_err(bad)?;
    let Some(out) = decoder.info() else {
        return Ok(None);
    };
    let (w, h) = (u32::from(out.width), u32::from(out.height));
    let img = match out.pixel_format {
        jpeg_decoder::PixelFormat::RGB24 => {
            image::RgbImage::from_raw(w, h, pixels).map(DynamicImage::ImageRgb8)
        }
        jpeg_decoder::PixelFormat::L8 => {
            image::GrayImage::from_raw(w, h, pixels).map(DynamicImage::ImageLuma8)
        }
        _ => None,
    };
    let Some(mut img) = img else {
        return Err(TransformError::Undecodable(
            "the decoded size does not match the header".into(),
        ));
    };
    img.apply_orientation(orientation);
    Ok(Some(img))
}

fn resize_and_encode(img: DynamicImage, params: &Params) -> Result<Vec<u8>, TransformError> {
    let (sw, sh) = (img.width(), img.height());
    let src = if img.color().has_alpha() && params.format != Format::Jpeg {
        DynamicImage::ImageRgba8(img.into_rgba8())
    } else {
        DynamicImage::ImageRgb8(img.into_rgb8())
    };
    let (tw, th) = target_size(sw, sh, params);
    let out = if (tw, th) == (sw, sh) {
        src
    } else {
        let pixel_type = src
            .pixel_type()
            .ok_or_else(|| TransformError::Encode("unsupported pixel layout".into()))?;
        let mut dst = Image::new(tw, th, pixel_type);
        let mut options = ResizeOptions::new();
        if params.fit == Fit::Cover {
            options = options.fit_into_destination(Some((0.5, 0.5)));
        }
        Resizer::new()
            .resize(&src, &mut dst, &options)
            .map_err(|e| TransformError::Encode(e.to_string()))?;
        let buffer = dst.into_vec();
        match src {
            DynamicImage::ImageRgba8(_) => {
                image::RgbaImage::from_raw(tw, th, buffer).map(DynamicImage::ImageRgba8)
            }
            _ => image::RgbImage::from_raw(tw, th, buffer).map(DynamicImage::ImageRgb8),
        }
        .ok_or_else(|| TransformError::Encode("resized buffer has the wrong size".into()))?
    };
    encode(&out, params)
}

/// The output size for a source of `sw × sh`.
fn target_size(sw: u32, sh: u32, p: &Params) -> (u32, u32) {
    let (sw_f, sh_f) = (f64::from(sw), f64::from(sh));
    let round = |v: f64| (v.round() as u32).max(1);
    match (p.width, p.height, p.fit) {
        (None, None, _) => (sw, sh),
        (Some(w), Some(h), Fit::Cover) => (w, h),
        (w, h, fit) => {
            let bw = w.map_or(f64::INFINITY, f64::from);
            let bh = h.map_or(f64::INFINITY, f64::from);
            let mut s = (bw / sw_f).min(bh / sh_f);
            if fit == Fit::Inside {
                s = s.min(1.0);
            }
            (round(sw_f * s), round(sh_f * s))
        }
    }
}

fn encode(img: &DynamicImage, params: &Params) -> Result<Vec<u8>, TransformError> {
    let enc = |e: image::ImageError| TransformError::Encode(e.to_string());
    let mut out = Vec::new();
    match params.format {
        Format::Webp => {
            let (w, h) = (img.width(), img.height());
            let encoder = match img {
                DynamicImage::ImageRgba8(buf) => webp::Encoder::from_rgba(buf.as_raw(), w, h),
                DynamicImage::ImageRgb8(buf) => webp::Encoder::from_rgb(buf.as_raw(), w, h),
                _ => return Err(TransformError::Encode("unexpected pixel layout".into())),
            };
            out.extend_from_slice(&encoder.encode(f32::from(params.quality)));
        }
        Format::Jpeg => {
            let rgb = img.to_rgb8();
            image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, params.quality)
                .encode_image(&rgb)
                .map_err(enc)?;
        }
        Format::Png => {
            img.write_to(&mut Cursor::new(&mut out), image::ImageFormat::Png)
                .map_err(enc)?;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(w: Option<u32>, h: Option<u32>, fit: Fit) -> Params {
        Params {
            width: w,
            height: h,
            fit,
            format: Format::Webp,
            quality: 80,
        }
    }

    #[test]
    fn sizes_follow_the_fit() {
        assert_eq!(
            target_size(4000, 3000, &params(Some(800), None, Fit::Inside)),
            (800, 600)
        );
        assert_eq!(
            target_size(400, 300, &params(Some(800), None, Fit::Inside)),
            (400, 300)
        );
        assert_eq!(
            target_size(400, 300, &params(Some(800), None, Fit::Contain)),
            (800, 600)
        );
        assert_eq!(
            target_size(4000, 3000, &params(Some(300), Some(300), Fit::Cover)),
            (300, 300)
        );
        assert_eq!(
            target_size(4000, 3000, &params(Some(300), Some(300), Fit::Inside)),
            (300, 225)
        );
    }

    fn jpeg(w: u32, h: u32) -> Vec<u8> {
        let img = image::RgbImage::from_fn(w, h, |x, y| {
            image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
        });
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
            .encode_image(&img)
            .expect("encode");
        out
    }

    #[test]
    fn scaled_jpeg_decoding_gives_the_asked_sizes() {
        let config = MediaConfig::default();
        let src = jpeg(1600, 1200);
        for (w, h, fit, expect) in [
            (Some(200), None, Fit::Inside, (200, 150)),
            (Some(150), Some(150), Fit::Cover, (150, 150)),
            (Some(799), None, Fit::Inside, (799, 599)),
            (Some(3000), None, Fit::Contain, (3000, 2250)),
        ] {
            let p = Params {
                width: w,
                height: h,
                fit,
                format: Format::Png,
                quality: 80,
            };
            let out = render(&src, &p, &config).expect("render");
            let img = image::load_from_memory(&out).expect("png");
            assert_eq!((img.width(), img.height()), expect, "{p:?}");
        }
    }

    #[test]
    fn parameters_are_bounded() {
        let config = MediaConfig::default();
        let raw = RawParams {
            w: Some(100_000),
            fit: Some("stretch".into()),
            q: Some(0),
            ..Default::default()
        };
        let errors = raw.check(&config, None, "image/jpeg").unwrap_err();
        let rules: Vec<_> = errors
            .iter()
            .map(|e| (e.path.as_str(), e.rule.as_str()))
            .collect();
        assert_eq!(rules, [("w", "max"), ("fit", "oneOf"), ("q", "range")]);
        let auto = RawParams {
            w: Some(800),
            format: Some("auto".into()),
            ..Default::default()
        };
        let p = auto
            .check(&config, Some("image/avif,image/webp,*/*"), "image/jpeg")
            .unwrap();
        assert_eq!(p.format, Format::Webp);
        let p = auto.check(&config, Some("*/*"), "image/png").unwrap();
        assert_eq!(p.format, Format::Png);
    }

    #[test]
    fn a_decompression_bomb_is_refused_from_its_header() {
        // A valid PNG header claiming 100,000 × 100,000 pixels.
        let mut png = Vec::new();
        png.extend_from_slice(b"\x89PNG\r\n\x1a\n");
        let mut ihdr = Vec::new();
        ihdr.extend_from_slice(b"IHDR");
        ihdr.extend_from_slice(&100_000u32.to_be_bytes());
        ihdr.extend_from_slice(&100_000u32.to_be_bytes());
        ihdr.extend_from_slice(&[8, 2, 0, 0, 0]);
        png.extend_from_slice(&13u32.to_be_bytes());
        png.extend_from_slice(&ihdr);
        png.extend_from_slice(&crc32(&ihdr).to_be_bytes());
        // A tiny data chunk and the end marker: a few dozen bytes in all.
        for (kind, data) in [
            (
                &b"IDAT"[..],
                &[0x78u8, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01][..],
            ),
            (&b"IEND"[..], &[][..]),
        ] {
            let mut chunk = kind.to_vec();
            chunk.extend_from_slice(data);
            png.extend_from_slice(&u32::try_from(data.len()).unwrap_or(0).to_be_bytes());
            png.extend_from_slice(&chunk);
            png.extend_from_slice(&crc32(&chunk).to_be_bytes());
        }
        let err = dimensions(&png, &MediaConfig::default()).unwrap_err();
        assert!(
            matches!(err, TransformError::TooLarge { width: 100_000, .. }),
            "{err}"
        );
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }
}
