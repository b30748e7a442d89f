import {
  type ConfigDocument,
  type ConfigDocumentInput,
  configDocumentSchema,
} from '../../shared/config/document.js';
import { type ChainInput, ProfileMother } from './profileMother.js';

type Settings = NonNullable<ConfigDocumentInput['settings']>;
type ProfileInput = ConfigDocumentInput['profiles'][number];
type Policy = NonNullable<ConfigDocumentInput['policies']>[number];
type Source = NonNullable<ConfigDocumentInput['sources']>[number];

/**
 * Configuration documents (SPEC §4), built the way a test reads best: start from a valid document and
 * change only what the test is about, e.g. `ConfigMother.minimal().withSources(tap).parse()`.
 * `build()` gives the document as it is PUT (JSON), `parse()` the validated `ConfigDocument`.
 */
export class ConfigMother {
  private constructor(private readonly doc: ConfigDocumentInput) {}

  /** One Graph profile (`contoso-online`) serving contoso.com, malicious mail soft-deleted. */
  static minimal(): ConfigMother {
    return new ConfigMother({
      profiles: [ProfileMother.graph()],
      domains: { 'contoso.com': 'contoso-online' },
      policies: [{ verdict: 'malicious', action: 'softDelete' }],
    });
  }

  /**
   * Every part of the document used once: Graph and EWS profiles, the hybrid chain, an IDN domain and
   * the catch-all, quarantine and restore policies, a forward address and a signed source.
   */
  static hybrid(): ConfigMother {
    return new ConfigMother({
      settings: { maxAttempts: 3, graphTimeoutSeconds: 30, ewsTimeoutSeconds: 30, mode: 'enforce' },
      profiles: [
        ProfileMother.graph(),
        ProfileMother.ews({ trustedCa: { keyVaultSecret: 'contoso-ews-ca' } }),
      ],
      chains: [ProfileMother.chain()],
      domains: { 'contoso.com': 'hybrid', 'Bücher.example': 'contoso-online', ALL: 'contoso-online' },
      policies: [
        { verdict: 'malicious', action: 'quarantine' },
        { verdict: 'clean', action: 'restore' },
      ],
      forwardTo: 'soc@contoso.com',
      sources: [{ name: 'proofpoint-tap', signingSecret: { keyVaultSecret: 'tap-webhook' } }],
    });
  }

  /** Merged into the settings already there. */
  withSettings(settings: Settings): ConfigMother {
    return this.with({ settings: { ...this.doc.settings, ...settings } });
  }

  withProfiles(...profiles: ProfileInput[]): ConfigMother {
    return this.with({ profiles });
  }

  withChains(...chains: ChainInput[]): ConfigMother {
    return this.with({ chains });
  }

  /** Replaces the whole domain map. */
  withDomains(domains: Record<string, string>): ConfigMother {
    return this.with({ domains });
  }

  withPolicies(...policies: Policy[]): ConfigMother {
    return this.with({ policies });
  }

  withSources(...sources: Source[]): ConfigMother {
    return this.with({ sources });
  }

  /** Replaces whole top-level parts of the document. */
  with(overrides: Partial<ConfigDocumentInput>): ConfigMother {
    return new ConfigMother({ ...this.doc, ...overrides });
  }

  /** The document as JSON would carry it; a fresh copy each time, so a test may change it freely. */
  build(): ConfigDocumentInput {
    return structuredClone(this.doc);
  }

  parse(): ConfigDocument {
    return configDocumentSchema.parse(this.build());
  }
}
