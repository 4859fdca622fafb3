// "Why did I get this answer?": a disclosure under an AI message showing what produced it.
import { el, clear, uuid } from './dom.js';
import { get } from './api.js';

const PROVIDERS = { offline: 'the built-in offline companion', openai: 'an AI language model', safety: 'Healing Space safety rules' };
const SCREENING = {
  none: 'No signs of risk were found in your message.',
  low: 'Your message showed some signs that you may be struggling, so we shared ways to get support.',
  moderate: 'Your message suggested you may be at risk, so we shared ways to get support and let your care team know.',
  high: 'Your message suggested you may be in danger, so we shared urgent support and let your care team know straight away.',
};
const FINISH = {
  stop: 'It finished normally.',
  cancelled: 'It was stopped before the end.',
  error: 'Something went wrong, so the reply was cut short.',
  safety: 'It was replaced with a safer message.',
};

function writtenBy(p) {
  if (p.kind === 'crisis_response') return 'A fixed safety message written by the Healing Space team. It was sent because your message suggested you might be at risk.';
  if (p.kind === 'paused_holding') return 'A fixed message, sent because the chat is paused until your care team has been in touch.';
  const who = PROVIDERS[p.provider] || 'an AI language model';
  return `The AI companion, using ${who}${p.model ? ` (${p.model})` : ''}. It is a computer program, not a person.`;
}

function rows(x, staff) {
  const out = [['Who wrote it', writtenBy(x.produced_by || {})]];
  if ((x.produced_by || {}).kind === 'model' && Number.isFinite(x.context_turns)) {
    out.push(['What it looked at', `Your message and ${x.context_turns} earlier message${x.context_turns === 1 ? '' : 's'} from this conversation.`]);
  }
  for (const c of x.safety_checks || []) {
    if (c.check === 'input_screening') {
      out.push(['Safety check on your message', SCREENING[c.outcome] || 'Your message was checked for signs of risk.']);
      if (staff && c.reasons?.length) out.push(['What the check noticed', c.reasons.join('; ')]);
    } else if (c.check === 'chat_paused') {
      out.push(['Chat paused', c.outcome === 'paused' ? 'Yes. The AI companion is paused until someone from the care team has been in touch.' : 'No.']);
    } else if (c.check === 'output_screening') {
      out.push(['Safety check on the reply', c.outcome === 'cut'
        ? 'Our safety check stopped part of the reply and replaced it with a safer message.'
        : 'The reply was checked before it was shown, and nothing harmful was found.']);
    }
  }
  if (x.finish && FINISH[x.finish]) out.push(['How it ended', FINISH[x.finish]]);
  return out;
}

/** The "Why did I get this answer?" button plus its (initially hidden) panel for AI message `id`. */
export function explanationControl(messageId, { staff = false } = {}) {
  const panelId = `why-${uuid()}`;
  const panel = el('div', { className: 'explanation', attrs: { id: panelId, hidden: true } });
  const button = el('button', {
    className: 'button-link',
    text: staff ? 'Why did the AI give this answer?' : 'Why did I get this answer?',
    attrs: { type: 'button', 'aria-expanded': 'false', 'aria-controls': panelId },
  });
  let loaded = false;
  button.addEventListener('click', async () => {
    const open = button.getAttribute('aria-expanded') !== 'true';
    button.setAttribute('aria-expanded', String(open));
    panel.hidden = !open;
    if (!open || loaded) return;
    clear(panel);
    panel.append(el('p', { text: 'Loading…' }));
    try {
      const x = await get(`/messages/${encodeURIComponent(messageId)}/explanation`);
      loaded = true;
      clear(panel);
      const dl = el('dl');
      for (const [k, v] of rows(x, staff)) dl.append(el('dt', { text: k }), el('dd', { text: v }));
      panel.append(dl);
    } catch (err) {
      clear(panel);
      panel.append(el('p', { text: `Sorry, we couldn't load this just now. ${err.message || ''}`.trim() }));
    }
  });
  return [button, panel];
}
