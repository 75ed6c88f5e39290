// The TLS a delivery to one destination domain requires: the stronger of MXHOOK_DELIVERY_TLS and
// the domain's MTA-STS policy (an enforce policy is `verify`, limited to the MX hosts it lists; a
// testing policy requires nothing, its failures are only logged), and the name of what decided it
// for the logs.
import {
  type DeliveryTls,
  settingLevel,
  TLS_LEVELS,
  type TlsLevel,
} from '../config/parse-delivery-tls.ts';
import type { MtaStsPolicies, StsPolicy } from './mta-sts.ts';

export interface DestinationTls {
  readonly level: TlsLevel;
  /**
   * What applies, as logged: `opportunistic`, `setting encrypt`, `setting verify`,
   * `mta-sts enforce`, `mta-sts testing`, or a setting's level with `mta-sts testing` beside it.
   */
  readonly policy: string;
  /** The domain's MTA-STS policy, enforce or testing; null when it has none in force. */
  readonly sts: StsPolicy | null;
}

export const OPPORTUNISTIC: DestinationTls = {
  level: 'opportunistic',
  policy: 'opportunistic',
  sts: null,
};

/** Where delivery finds each domain's requirement. */
export interface DeliveryTlsSource {
  forDomain(domain: string): Promise<DestinationTls>;
}

export class DeliveryTlsPolicies implements DeliveryTlsSource {
  readonly #setting: DeliveryTls;
  readonly #mtaSts: MtaStsPolicies | null;

  /** `mtaSts` null: MTA-STS is not honoured (MXHOOK_MTA_STS=false). */
  constructor(setting: DeliveryTls, mtaSts: MtaStsPolicies | null) {
    this.#setting = setting;
    this.#mtaSts = mtaSts;
  }

  async forDomain(domain: string): Promise<DestinationTls> {
    const configured = settingLevel(this.#setting, domain);
    const sts = (await this.#mtaSts?.policyFor(domain)) ?? null;
    return combine(configured, sts);
  }
}

/** The stronger of the setting's level and the policy's; both named when both count. */
export function combine(configured: TlsLevel, sts: StsPolicy | null): DestinationTls {
  const stsLevel: TlsLevel = sts?.mode === 'enforce' ? 'verify' : 'opportunistic';
  const level = rank(stsLevel) > rank(configured) ? stsLevel : configured;
  const parts = [
    ...(configured === 'opportunistic' || sts?.mode === 'enforce' ? [] : [`setting ${configured}`]),
    ...(sts === null ? [] : [`mta-sts ${sts.mode}`]),
  ];
  return { level, policy: parts.join(', ') || 'opportunistic', sts };
}

function rank(level: TlsLevel): number {
  return TLS_LEVELS.indexOf(level);
}
