//! Headless Chromium for the tests that render a page in a real browser
//! (the HTML report, the matrix page): where it is and whether to use it.

use std::path::Path;

/// Debian's Chromium (`apt-get install chromium`, as `.ci/run` does).
pub const CHROMIUM: &str = "/usr/bin/chromium";

/// True when `WSCONFORM_BROWSER_TESTS=1` and Chromium is installed; else
/// says loudly on stderr that `what` was not checked in a browser.
pub fn browser_tests_enabled(what: &str) -> bool {
    let on = std::env::var("WSCONFORM_BROWSER_TESTS").as_deref() == Ok("1");
    let found = Path::new(CHROMIUM).exists();
    if !(on && found) {
        eprintln!(
            "\n!!! SKIPPED: {what} was not checked in a browser. Set \
             WSCONFORM_BROWSER_TESTS=1 with {CHROMIUM} installed (apt-get install chromium); \
             enabled: {on}, chromium found: {found}\n"
        );
    }
    on && found
}
