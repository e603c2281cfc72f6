// Light/dark theme: follows the system (prefers-color-scheme) unless the person picked one with the
// top bar's toggle (system → light → dark → system), remembered in localStorage. Loaded as a classic
// script in <head> so the page never flashes the wrong theme.
type Theme = 'system' | 'light' | 'dark';
const KEY = 'parley.theme';
const ORDER: Theme[] = ['system', 'light', 'dark'];

function stored(): Theme {
  try {
    const value = localStorage.getItem(KEY);
    return value === 'light' || value === 'dark' ? value : 'system';
  } catch {
    return 'system';
  }
}

function apply(theme: Theme): void {
  const root = document.documentElement;
  if (theme === 'system') root.removeAttribute('data-theme');
  else root.dataset.theme = theme;
  const button = document.getElementById('theme-toggle');
  if (button) {
    button.setAttribute('aria-label', `Colour theme: ${theme}. Change`);
    button.dataset.theme = theme;
    button.title = `Colour theme: ${theme}`;
  }
}

apply(stored());
document.addEventListener('DOMContentLoaded', () => {
  apply(stored());
  document.getElementById('theme-toggle')?.addEventListener('click', () => {
    const next = ORDER[(ORDER.indexOf(stored()) + 1) % ORDER.length]!;
    try {
      if (next === 'system') localStorage.removeItem(KEY);
      else localStorage.setItem(KEY, next);
    } catch {
      // private mode: the choice lasts for this page only
    }
    apply(next);
  });
});
