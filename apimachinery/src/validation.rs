//! Name and metadata validation shared by every kind (DNS-1123 names, labels, annotations).
