//! NumPy `.npy` files: writing float32 and int64 arrays, reading them back (versions 1–3),
//! the format `convlab dump` writes and the PyTorch fixtures use.

use std::path::Path;

use ndarray::{ArrayD, IxDyn};

/// `.npy` files larger than this are refused when read.
pub const MAX_NPY_BYTES: u64 = 1 << 30;

/// The values of an `.npy` file.
#[derive(Clone, Debug, PartialEq)]
pub enum NpyData {
    F32(Vec<f32>),
    F64(Vec<f64>),
    I64(Vec<i64>),
}

/// Why an `.npy` file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum NpyError {
    #[error("not a NumPy .npy file")]
    NotNpy,
    #[error(".npy version {0} is not supported")]
    Version(u8),
    /// A header that cannot be parsed; the text says which part.
    #[error("{0}")]
    Malformed(&'static str),
    #[error("the .npy header has no '{0}'")]
    MissingField(String),
    #[error("bad .npy dimension '{0}'")]
    BadDimension(String),
    #[error("dtype '{0}' is not supported (use float32, float64 or little-endian integers)")]
    Dtype(String),
    #[error("the .npy file holds {bytes} bytes of data but its shape {shape:?} needs {needs}")]
    DataLength {
        bytes: usize,
        shape: Vec<usize>,
        needs: usize,
    },
    #[error("{0} is not a class index")]
    NotClassIndex(f64),
    #[error("{path}: {error}")]
    Io { path: String, error: std::io::Error },
    #[error("{path}: the file is larger than 1 GiB")]
    TooLarge { path: String },
    #[error("{path}: {error}")]
    InFile { path: String, error: Box<NpyError> },
}

#[derive(Clone, Debug, PartialEq)]
pub struct Npy {
    pub shape: Vec<usize>,
    pub data: NpyData,
}

impl Npy {
    pub fn len(&self) -> usize {
        match &self.data {
            NpyData::F32(v) => v.len(),
            NpyData::F64(v) => v.len(),
            NpyData::I64(v) => v.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn to_f32(&self) -> Vec<f32> {
        match &self.data {
            NpyData::F32(v) => v.clone(),
            NpyData::F64(v) => v.iter().map(|&x| x as f32).collect(),
            NpyData::I64(v) => v.iter().map(|&x| x as f32).collect(),
        }
    }
    /// Integer values (class labels); floats must be whole numbers.
    pub fn to_labels(&self) -> Result<Vec<i64>, NpyError> {
        let whole = |x: f64| {
            if x.fract() == 0.0 && x.abs() < 1e15 {
                Ok(x as i64)
            } else {
                Err(NpyError::NotClassIndex(x))
            }
        };
        match &self.data {
            NpyData::I64(v) => Ok(v.clone()),
            NpyData::F32(v) => v.iter().map(|&x| whole(x as f64)).collect(),
            NpyData::F64(v) => v.iter().map(|&x| whole(x)).collect(),
        }
    }
}

fn npy_header(descr: &str, shape: &[usize]) -> Vec<u8> {
    let dims = match shape {
        [] => String::new(),
        [d] => format!("{d},"),
        _ => shape
            .iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join(", "),
    };
    let mut dict = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': ({dims}), }}");
    // Magic (6) + version (2) + length (2) + dict + '\n' is a multiple of 64.
    let unpadded = 10 + dict.len() + 1;
    dict.push_str(&" ".repeat(unpadded.next_multiple_of(64) - unpadded));
    dict.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(dict.len() as u16).to_le_bytes());
    out.extend_from_slice(dict.as_bytes());
    out
}

/// An `.npy` (version 1.0) file of little-endian float32 values in C order.
pub fn npy_f32(shape: &[usize], values: &[f32]) -> Vec<u8> {
    debug_assert_eq!(shape.iter().product::<usize>(), values.len());
    let mut out = npy_header("<f4", shape);
    out.reserve(values.len() * 4);
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// An `.npy` file of little-endian int64 values in C order.
pub fn npy_i64(shape: &[usize], values: &[i64]) -> Vec<u8> {
    let mut out = npy_header("<i8", shape);
    for v in values {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// Reads an `.npy` file: versions 1–3, C order, little-endian (or byte-sized) float32,
/// float64 and integer types.
pub fn read_npy(bytes: &[u8]) -> Result<Npy, NpyError> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(NpyError::NotNpy);
    }
    let (hlen, start): (usize, usize) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => return Err(NpyError::Version(v)),
    };
    let header = bytes
        .get(start..start.saturating_add(hlen))
        .ok_or(NpyError::Malformed("the .npy header is truncated"))?;
    let header = std::str::from_utf8(header)
        .map_err(|_| NpyError::Malformed("the .npy header is not text"))?;
    let field = |key: &str| -> Result<&str, NpyError> {
        let at = header
            .find(&format!("'{key}'"))
            .ok_or_else(|| NpyError::MissingField(key.to_string()))?;
        let rest = &header[at + key.len() + 2..];
        let colon = rest
            .find(':')
            .ok_or(NpyError::Malformed("malformed .npy header"))?;
        Ok(rest[colon + 1..].trim_start())
    };
    let descr = field("descr")?;
    let descr = descr
        .strip_prefix('\'')
        .and_then(|d| d.split('\'').next())
        .ok_or(NpyError::Malformed("malformed .npy descr"))?;
    if field("fortran_order")?.starts_with("True") {
        return Err(NpyError::Malformed(
            "Fortran-order arrays are not supported; save with np.ascontiguousarray",
        ));
    }
    let shape_text = field("shape")?;
    let shape_text = shape_text
        .strip_prefix('(')
        .and_then(|s| s.split(')').next())
        .ok_or(NpyError::Malformed("malformed .npy shape"))?;
    let shape: Vec<usize> = shape_text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .map_err(|_| NpyError::BadDimension(s.to_string()))
        })
        .collect::<Result<_, _>>()?;
    let count = shape
        .iter()
        .try_fold(1usize, |a, &d| a.checked_mul(d))
        .filter(|&n| n <= 1 << 28)
        .ok_or(NpyError::Malformed("the .npy array is too large"))?;
    let data = &bytes[start + hlen..];
    let (size, kind) = match descr {
        "<f4" => (4, 'f'),
        "<f8" => (8, 'f'),
        "<i8" | "<u8" => (8, 'i'),
        "<i4" | "<u4" => (4, 'i'),
        "<i2" | "<u2" => (2, 'i'),
        "|i1" | "|u1" | "|b1" => (1, 'i'),
        d => {
            return Err(NpyError::Dtype(d.to_string()));
        }
    };
    if data.len() != count * size {
        return Err(NpyError::DataLength {
            bytes: data.len(),
            shape,
            needs: count * size,
        });
    }
    let unsigned = descr.contains('u') || descr.contains('b');
    let data = match (kind, size) {
        ('f', 4) => NpyData::F32(
            data.chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
        ),
        ('f', _) => NpyData::F64(
            data.chunks_exact(8)
                .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
                .collect(),
        ),
        (_, size) => NpyData::I64(
            data.chunks_exact(size)
                .map(|c| {
                    let mut b = [0u8; 8];
                    b[..size].copy_from_slice(c);
                    let negative = !unsigned && c[size - 1] & 0x80 != 0;
                    if negative {
                        b[size..].fill(0xff);
                    }
                    i64::from_le_bytes(b)
                })
                .collect(),
        ),
    };
    Ok(Npy { shape, data })
}

pub fn load_npy(path: &Path) -> Result<Npy, NpyError> {
    let at = || path.display().to_string();
    let io = |error| NpyError::Io { path: at(), error };
    let meta = std::fs::metadata(path).map_err(io)?;
    if meta.len() > MAX_NPY_BYTES {
        return Err(NpyError::TooLarge { path: at() });
    }
    read_npy(&std::fs::read(path).map_err(io)?).map_err(|e| NpyError::InFile {
        path: at(),
        error: Box::new(e),
    })
}

/// `ArrayD` view of a dump array, for tests and tools.
pub fn npy_array(npy: &Npy) -> ArrayD<f32> {
    ArrayD::from_shape_vec(IxDyn(&npy.shape), npy.to_f32()).expect("shape checked on read")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_round_trips() {
        for shape in [vec![], vec![3], vec![2, 3], vec![1, 2, 3, 4]] {
            let n: usize = shape.iter().product();
            let v: Vec<f32> = (0..n).map(|i| i as f32 * 0.5 - 1.0).collect();
            let bytes = npy_f32(&shape, &v);
            assert_eq!((bytes.len() - v.len() * 4) % 64, 0);
            let back = read_npy(&bytes).unwrap();
            assert_eq!(back.shape, shape);
            assert_eq!(back.data, NpyData::F32(v));
        }
        let b = npy_i64(&[2], &[-3, 7]);
        assert_eq!(read_npy(&b).unwrap().data, NpyData::I64(vec![-3, 7]));
        let b = npy_f32(&[2, 2], &[1.0; 4]);
        assert!(read_npy(&b[..b.len() - 1]).is_err());
        assert!(read_npy(b"nope").is_err());
    }
}
