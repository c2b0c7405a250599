document.getElementById('app').textContent='meshwatch';
