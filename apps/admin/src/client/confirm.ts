// Destructive admin actions ask first, naming their target: a form with `data-confirm="…"` opens a
// modal dialog (native <dialog>, keyboard and screen-reader friendly) and submits only on "confirm".
// Role forms (`data-role-current`) ask only for a demotion, which signs the person out.
const RANK: Record<string, number> = { user: 0, moderator: 1, admin: 2 };

function ask(message: string, action: string): Promise<boolean> {
  const dialog = document.createElement('dialog');
  dialog.className = 'confirm';
  dialog.setAttribute('aria-labelledby', 'confirm-text');
  const text = document.createElement('p');
  text.id = 'confirm-text';
  text.textContent = message;
  const form = document.createElement('form');
  form.method = 'dialog';
  form.className = 'row';
  const cancel = document.createElement('button');
  cancel.value = 'cancel';
  cancel.textContent = 'Cancel';
  const confirm = document.createElement('button');
  confirm.value = 'confirm';
  confirm.className = 'danger';
  confirm.textContent = action;
  form.append(cancel, confirm);
  dialog.append(text, form);
  document.body.append(dialog);
  dialog.showModal();
  cancel.focus(); // the safe choice is the default
  return new Promise((resolve) => {
    dialog.addEventListener('close', () => {
      resolve(dialog.returnValue === 'confirm');
      dialog.remove();
    });
  });
}

document.addEventListener('submit', (event) => {
  const form = event.target as HTMLFormElement;
  let message = form.dataset.confirm;
  const current = form.dataset.roleCurrent;
  if (current) {
    const next = (form.elements.namedItem('role') as HTMLSelectElement | null)?.value ?? current;
    message = (RANK[next] ?? 0) < (RANK[current] ?? 0) ? form.dataset.confirmDemote?.replace('{role}', next) : undefined;
  }
  if (!message || form.dataset.confirmed === '1') return;
  event.preventDefault();
  void ask(message, form.dataset.confirmAction ?? 'Confirm').then((ok) => {
    if (!ok) return;
    form.dataset.confirmed = '1';
    form.requestSubmit();
  });
});
