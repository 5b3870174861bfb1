/**
 * The pieces of @kubernetes/client-node eks-access uses (kubeconfig loading and its credential
 * plugins; the list-and-watch informer for `serve`'s aws-auth backend), behind their own module so
 * that they are imported lazily and the bundler keeps only what they need (a namespace import of
 * the package would keep all of it).
 */
export { KubeConfig, ListWatch, Watch } from "@kubernetes/client-node";
