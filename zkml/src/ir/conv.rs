//! The geometry of a 2-D convolution: which input cells each output reads.
//! Validation, the interpreter, the circuit, the ONNX importer and its float
//! reference all take it from here, so they cannot disagree on it.

use serde::{Deserialize, Serialize};

/// The shape parameters of a [`super::Op::Conv2d`]: a `[in_channels, H, W]`
/// input, padded with `padding` cells on every side, gives an
/// `[out_channels, OH, OW]` output (see [`ConvGeometry::output_size`]).
///
/// Part of the model's canonical encoding: the codec writes a nested struct
/// as its fields in order with nothing around them, so the op encodes
/// exactly as if these six fields were its own. Do not reorder them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConvGeometry {
    pub in_channels: u32,
    pub out_channels: u32,
    pub kernel_h: u32,
    pub kernel_w: u32,
    pub stride: u32,
    pub padding: u32,
}

impl ConvGeometry {
    /// How many inputs one output reads, `in_channels * kernel_h * kernel_w`:
    /// the length of one output channel's filter.
    pub fn fan_in(&self) -> u64 {
        u64::from(self.in_channels) * u64::from(self.kernel_h) * u64::from(self.kernel_w)
    }

    /// How many weights the layer has, `out_channels * fan_in`, row-major
    /// `[O][C][KH][KW]`.
    pub fn weight_count(&self) -> u64 {
        u64::from(self.out_channels) * self.fan_in()
    }

    /// `[H + 2 * padding, W + 2 * padding]` for an input of `[H, W]`.
    pub fn padded_size(&self, [h, w]: [u32; 2]) -> [u64; 2] {
        let pad = 2 * u64::from(self.padding);
        [u64::from(h) + pad, u64::from(w) + pad]
    }

    /// `[OH, OW]` for an input of `[H, W]`, with
    /// `OH = (H + 2 * padding - kernel_h) / stride + 1` (likewise OW);
    /// `None` when the kernel does not fit the padded input.
    pub fn output_size(&self, input: [u32; 2]) -> Option<[u32; 2]> {
        let [h, w] = self.padded_size(input);
        Some([
            window_count(h, self.kernel_h, self.stride)?,
            window_count(w, self.kernel_w, self.stride)?,
        ])
    }

    /// The cells output `(oy, ox)` reads from an input of `[H, W]`, in the
    /// order of its filter's weights (`[C][KH][KW]`): `Some(index)` of a value
    /// of the row-major `[C, H, W]` input, or `None` for a padding cell.
    pub fn taps(
        &self,
        [height, width]: [usize; 2],
        oy: usize,
        ox: usize,
    ) -> impl Iterator<Item = Option<usize>> {
        let [channels, kernel_h, kernel_w, stride, padding] = [
            self.in_channels,
            self.kernel_h,
            self.kernel_w,
            self.stride,
            self.padding,
        ]
        .map(|v| v as usize);
        (0..channels).flat_map(move |c| {
            (0..kernel_h).flat_map(move |ky| {
                (0..kernel_w).map(move |kx| {
                    let y = (oy * stride + ky).checked_sub(padding)?;
                    let x = (ox * stride + kx).checked_sub(padding)?;
                    (y < height && x < width).then_some((c * height + y) * width + x)
                })
            })
        })
    }
}

/// How many windows of side `window` fit in `size` cells at `stride` (a
/// stride of 0 counts as 1), if any fits and the count fits a `u32`. Conv2d
/// and MaxPool alike.
pub(crate) fn window_count(size: u64, window: u32, stride: u32) -> Option<u32> {
    let spare = size.checked_sub(u64::from(window))?;
    u32::try_from(spare / u64::from(stride.max(1)) + 1).ok()
}

#[cfg(test)]
mod tests {
    use synod_protocol::codec;

    use super::*;
    use crate::ir::{ChannelRequant, Op, Requant};

    const GEOMETRY: ConvGeometry = ConvGeometry {
        in_channels: 3,
        out_channels: 300,
        kernel_h: 5,
        kernel_w: 2,
        stride: 2,
        padding: 1,
    };

    #[test]
    fn a_conv2d_encodes_as_its_flat_fields_so_model_ids_do_not_depend_on_the_geometry_type() {
        let requant = Requant {
            multiplier: 1 << 20,
            shift: 30,
            zero_point: -3,
        };
        let channels = vec![ChannelRequant {
            multiplier: 77,
            shift: 9,
        }];
        let op = Op::Conv2d {
            geometry: GEOMETRY,
            input_zero_point: -5,
            weights: vec![1, -2, 127],
            bias: vec![70_000, -1],
            requant,
            channels: channels.clone(),
        };
        // The op as it was encoded when its fields were declared one by one:
        // the variant index (Conv2d is the second op), then each field in order.
        let flat = codec::encode(&(
            1u32,
            3u32,
            300u32,
            5u32,
            2u32,
            2u32,
            1u32,
            -5i8,
            vec![1i8, -2, 127],
            vec![70_000i32, -1],
            requant,
            channels,
        ));
        assert_eq!(codec::encode(&op), flat);
        assert_eq!(codec::decode::<Op>(&flat).expect("decodes"), op);
    }

    #[test]
    fn the_output_size_counts_the_windows_that_fit_the_padded_input() {
        // (6 + 2 - 5) / 2 + 1 = 2 rows, (4 + 2 - 2) / 2 + 1 = 3 columns.
        assert_eq!(GEOMETRY.output_size([6, 4]), Some([2, 3]));
        assert_eq!(GEOMETRY.padded_size([6, 4]), [8, 6]);
        assert_eq!(GEOMETRY.output_size([2, 4]), None);
        assert_eq!(GEOMETRY.fan_in(), 30);
        assert_eq!(GEOMETRY.weight_count(), 9000);
    }

    #[test]
    fn taps_follow_the_filter_order_and_mark_padding_cells() {
        let geometry = ConvGeometry {
            in_channels: 2,
            out_channels: 1,
            kernel_h: 2,
            kernel_w: 2,
            stride: 1,
            padding: 1,
        };
        // Output (0, 0) of a 2x2 input: the window's top row and left column are padding.
        let taps: Vec<_> = geometry.taps([2, 2], 0, 0).collect();
        assert_eq!(taps, [None, None, None, Some(0), None, None, None, Some(4)]);
        // Output (1, 1) reads the whole input, channel by channel, row by row.
        let taps: Vec<_> = geometry.taps([2, 2], 1, 1).collect();
        assert_eq!(taps, (0..8).map(Some).collect::<Vec<_>>());
    }
}
