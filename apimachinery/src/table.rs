//! Server-side printing: the `meta.k8s.io/v1 Table` kube-apiserver returns for `as=Table`.
