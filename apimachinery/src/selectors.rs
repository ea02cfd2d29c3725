//! Label selectors and field selectors, parsed from query strings and matched against objects.
