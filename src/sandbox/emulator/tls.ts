/** The sandbox's throwaway PKI: the openssl-made CA and leaf certificates of adapters/pki.ts. */
export { createRsaKeyPair, createTestCa, issueLeafCertificate, verifiesAgainst, type PemPair, type TestCa } from "../../adapters/pki.js";
