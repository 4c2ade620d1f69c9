//! The image viewer's operations on catalogued instances: text regions the detector proposes,
//! the masked result of drawn rectangles, and saving them as a rule of the site mask library.

use serde::{Deserialize, Serialize};

use super::masks::{NewMaskRule, RuleMatches, SiteRule};
use super::pixels::{png_data_url, Preview};
use super::Session;
use crate::error::ApiError;
use crate::pixels::ocr::Region;
use crate::pixels::Rect;

/// Rectangles drawn on an instance, to save as a site rule.
#[derive(Debug, Clone, Deserialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct DrawnMask {
    /// The catalogued instance they were drawn on (its header gives the rule's signature).
    pub instance: i64,
    /// The rectangles, in image pixels.
    pub regions: Vec<Rect>,
    /// Who drew them.
    pub created_by: String,
    /// A note (e.g. "name and date bar of the Sono 5").
    pub note: Option<String>,
}

/// A saved rule and how much of the catalog it applies to.
#[derive(Debug, Clone, Serialize)]
#[cfg_attr(feature = "specta", derive(specta::Type))]
pub struct SavedMask {
    /// The rule as stored in the site library.
    pub rule: SiteRule,
    /// Catalogued instances, series and studies it matches.
    pub matches: RuleMatches,
}

impl Session {
    /// Text regions the detector finds on a frame, that `masked` (drawn so far) do not cover.
    pub fn suggest_regions_for(
        &self,
        instance: i64,
        frame: u32,
        masked: &[Rect],
    ) -> Result<Vec<Region>, ApiError> {
        let file = self.instance_file(instance)?;
        super::pixels::suggest_regions_masked(&file, frame, masked)
    }

    /// A frame with `regions` filled, as it would leave under a rule with these rectangles.
    pub fn preview_masked(
        &self,
        instance: i64,
        frame: u32,
        regions: &[Rect],
    ) -> Result<Preview, ApiError> {
        let file = self.instance_file(instance)?;
        let (png, info) = super::masks::preview_candidate(&file, frame, regions)?;
        Ok(Preview {
            png: png_data_url(&png),
            info,
        })
    }

    /// Saves drawn rectangles as a rule for the instance's scanner/size signature, recorded
    /// with who drew it and `created_at` (passed in), and says what else it will match.
    pub fn save_drawn_mask(&self, m: &DrawnMask, created_at: &str) -> Result<SavedMask, ApiError> {
        if m.created_by.trim().is_empty() {
            return Err(ApiError::usage(
                "masks.who",
                "say who drew the mask: a rule is recorded with its author",
            ));
        }
        let file = self.instance_file(m.instance)?;
        let rule = self.save_mask_rule(&NewMaskRule {
            file,
            regions: m.regions.clone(),
            name: None,
            note: m.note.clone().filter(|n| !n.trim().is_empty()),
            created_by: m.created_by.trim().to_string(),
            created_at: created_at.to_string(),
        })?;
        let matches = self.mask_rule_matches(&rule.name)?;
        Ok(SavedMask { rule, matches })
    }
}
