//! The settings of the views of point data, shared by their modules and the callers
//! (the window's panel and `convlab render`).

use super::unit::Surface;
use crate::data::features::InputFeature;

/// The settings of the views of point data (decision, function, neurons, single unit).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PointOptions {
    /// Decision: only the class (or sign), without its sureness.
    pub discrete: bool,
    /// Single unit: the function its surface is drawn with.
    pub surface: Surface,
    /// Neurons: the unit drawn large (dense node, unit).
    pub pick: Option<(String, usize)>,
    /// Decision and neurons: the hand-made inputs the data appends after x and y (see
    /// [`crate::data::features`]), so every point of the plane is fed as the data is.
    pub features: Vec<InputFeature>,
}
