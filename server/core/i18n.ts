// Every visible string goes through t(). Dictionaries live beside the views, one file per feature
// (views/<feature>/i18n.json: {"key": {"en": "...", "zh": "..."}}), so a feature brings its words.
import fs from 'node:fs';
import path from 'node:path';

export type Lang = 'en' | 'zh';
export const LANGS: readonly Lang[] = ['en', 'zh'];
export type Dictionary = Record<string, Record<Lang, string>>;
export type Translate = (key: string, vars?: Record<string, string | number>) => string;

export function loadDictionaries(viewsDir: string): Dictionary {
  const merged: Dictionary = {};
  for (const entry of fs.readdirSync(viewsDir, { withFileTypes: true })) {
    const file = path.join(viewsDir, entry.name, 'i18n.json');
    if (!entry.isDirectory() || !fs.existsSync(file)) continue;
    const dict = JSON.parse(fs.readFileSync(file, 'utf8')) as Dictionary;
    for (const [key, value] of Object.entries(dict)) {
      if (merged[key]) throw new Error(`i18n key "${key}" is defined twice (again in ${file})`);
      merged[key] = value;
    }
  }
  return merged;
}

export function translator(dict: Dictionary, lang: Lang): Translate {
  return (key, vars) => {
    let text = dict[key]?.[lang] ?? dict[key]?.en ?? key;
    if (vars) for (const [k, v] of Object.entries(vars)) text = text.split(`{${k}}`).join(String(v));
    return text;
  };
}

export function pickLang(requested: string | undefined, fallback: Lang): Lang {
  return requested === 'zh' || requested === 'en' ? requested : fallback;
}
