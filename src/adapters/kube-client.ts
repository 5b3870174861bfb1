/**
 * The one piece of @kubernetes/client-node eks-access uses (kubeconfig loading and its credential
 * plugins), behind its own module so that kube-aws-auth.ts can import it lazily and the bundler
 * keeps only what KubeConfig needs (a namespace import of the package would keep all of it).
 */
export { KubeConfig } from "@kubernetes/client-node";
